// Fake `lsof`: answers `lsof -nP +c 0 -iTCP:<port> -sTCP:LISTEN -Fpc` from the state's listeners,
// in lsof's field output (lsof(8) "OUTPUT FOR OTHER PROGRAMS": one "p<pid>" and one "c<command>"
// line per process). Like the real one it exits 1 with no output when nothing matches.
import { loadState, logCall } from './fake-state.mjs';

const argv = process.argv.slice(2);
await logCall('lsof', argv);
const listeners = loadState().lsof?.listeners ?? [];
const port = Number((argv.find((a) => a.startsWith('-iTCP:')) ?? '').slice('-iTCP:'.length));
const found = listeners.filter((l) => l.port === port);
if (found.length === 0) process.exit(1);
for (const l of found) process.stdout.write(`p${l.pid}\nc${l.command}\n`);
process.exit(0);
