// composecheck validates a docker-compose file the way Docker Compose does (compose-spec's loader, with
// its JSON schema and interpolation), without a Docker engine: `composecheck FILE [ENV=VALUE ...]`.
// Prints the services it found; exits 1 with the loader's error on an invalid file.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck FILE [NAME=VALUE ...]")
		os.Exit(2)
	}
	file, _ := filepath.Abs(os.Args[1])
	env := os.Args[2:]
	opts, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithEnv(env),
		cli.WithName("rstwatch"),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	names := make([]string, 0, len(p.Services))
	for n := range p.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Printf("services: %s\n", strings.Join(names, " "))
}
