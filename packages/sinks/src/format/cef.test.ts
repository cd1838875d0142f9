import { describe, expect, it } from 'vitest';
import { sampleAlert } from '../testing.js';
import { cefHeader, cefValue, toCef } from './cef.js';

describe('toCef', () => {
  it('writes the header and the extension in the documented order', () => {
    expect(toCef(sampleAlert())).toBe(
      'CEF:0|rstwatch|rstwatch|0.1.0|reset_attack|42 forged RSTs aimed at 198.18.0.2:443 from 3 peers within 60 s|8|' +
        'rt=1785578459654 start=1785578400123 end=1785578459654 externalId=0123456789abcdef0123456789abcdef ' +
        'cat=reset_attack proto=TCP src=203.0.113.7 dst=198.18.0.2 dpt=443 cnt=42 dvchost=tap-a ' +
        'cn1Label=version cn1=1 cs1Label=entity cs1=198.18.0.2 cs2Label=entityKind cs2=victim ' +
        'cs3Label=status cs3=open cs4Label=evidence cs4=rsts\\=42 window_s\\=60 seq_in_window_not_exact\\=40 ' +
        'cs5Label=communityIds cs5=1:LQU9qZlK+B5F3KDmev6m5PMibrg\\=,1:3V7Y7XQ1ecd0pp4e9Y+qvV0tmxk\\= ' +
        'cs6Label=sourceIps cs6=203.0.113.7,203.0.113.8,203.0.113.9 ' +
        'flexString1Label=sensors flexString1=tap-a,tap-b ' +
        'flexString2Label=details flexString2={"peers":3,"ports":[443],"exact":false}',
    );
  });

  it('escapes | and \\ in the header, \\ = CR LF in values, and drops empty fields with their labels', () => {
    const line = toCef(
      sampleAlert({
        severity: 'low',
        summary: 'a|b\\c=d\ne',
        entity: 'x=y\\z\r\nw|v',
        source_ips: [],
        destination_port: 0,
        sensors: [],
        community_ids: [],
        evidence: [],
        details: {},
        version: 4,
      }),
      { version: '1.2|3' },
    );
    expect(line).toBe(
      'CEF:0|rstwatch|rstwatch|1.2\\|3|reset_attack|a\\|b\\\\c=d e|3|' +
        'rt=1785578459654 start=1785578400123 end=1785578459654 externalId=0123456789abcdef0123456789abcdef ' +
        'cat=reset_attack proto=TCP dst=198.18.0.2 cnt=42 cn1Label=version cn1=4 ' +
        'cs1Label=entity cs1=x\\=y\\\\z\\r\\nw|v cs2Label=entityKind cs2=victim cs3Label=status cs3=open',
    );
  });

  it('maps severities to 3, 5, 8, 10', () => {
    const sev = (severity: 'low' | 'medium' | 'high' | 'critical') =>
      toCef(sampleAlert({ severity })).split('|')[6];
    expect([sev('low'), sev('medium'), sev('high'), sev('critical')]).toEqual(['3', '5', '8', '10']);
  });

  it('escape helpers', () => {
    expect(cefHeader('a\\b|c=d')).toBe('a\\\\b\\|c=d');
    expect(cefValue('a\\b|c=d\r\n')).toBe('a\\\\b|c\\=d\\r\\n');
  });
});
