/** Array-backed FIFO with O(1) amortized push and drop-from-head. */
export class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** The first `n` items (a copy), oldest first. */
  peek(n: number): T[] {
    return this.#items.slice(this.#head, this.#head + n);
  }

  /** Removes the first `n` items. */
  drop(n: number): void {
    this.#head = Math.min(this.#head + n, this.#items.length);
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Removes and returns everything. */
  takeAll(): T[] {
    const all = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return all;
  }
}
