#!/usr/bin/env node
// Runs one of the SIPp scenarios in sipp/ (or a SIPp built-in such as uac) against a server:
//   npm run sipp -- <scenario> [target host:port] [extra sipp args...]
// e.g. npm run sipp -- options 127.0.0.1:5060, npm run sipp -- uac 127.0.0.1:5060 -m 100 -r 10
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const [scenario, target = '127.0.0.1:5060', ...extra] = process.argv.slice(2);
if (!scenario) {
  console.error('usage: npm run sipp -- <scenario|uac|uas> [host:port] [sipp args...]');
  console.error('scenarios: ' + require('node:fs').readdirSync(path.join(__dirname, '..', 'sipp')).filter((f) => f.endsWith('.xml')).join(' '));
  process.exit(2);
}
const file = path.join(__dirname, '..', 'sipp', scenario.endsWith('.xml') ? scenario : `${scenario}.xml`);
const args = existsSync(file) ? ['-sf', file] : ['-sn', scenario];
const has = (flag) => extra.includes(flag);
args.push(target);
if (!has('-m')) args.push('-m', '1');
if (!has('-s')) args.push('-s', process.env.SIPP_SERVICE || '1000');
if (!has('-timeout')) args.push('-timeout', '60s', '-timeout_error');
args.push(...extra);
console.log(`sipp ${args.join(' ')}`);
const r = spawnSync('sipp', args, { stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
