/** `keystone doctor`: every prerequisite and environment check (src/health/doctor.ts), each with a fix when it fails. */
import type { AppContext } from '../app-context.js';
import { runChecks } from '../health/doctor.js';

export async function doctor(app: AppContext, output: string | undefined): Promise<number> {
  const results = await runChecks(app);
  const failed = results.filter((r) => r.status === 'fail').length;
  if (output === 'json' || output === 'yaml') {
    await app.ui.document({ ok: failed === 0, checks: results }, output);
  } else {
    const c = app.ui.color;
    const mark = { ok: c.green('✓'), warn: c.yellow('!'), fail: c.red('✗') };
    const lines = results.map(
      (r) =>
        `${mark[r.status]} ${r.name}: ${r.detail}${r.hint && r.status !== 'ok' ? `\n    ${c.cyan('fix:')} ${r.hint}` : ''}`,
    );
    lines.push('', failed === 0 ? 'All checks passed.' : `${failed} check${failed === 1 ? '' : 's'} failed.`);
    app.ui.data(lines.join('\n'));
  }
  return failed === 0 ? 0 : 1;
}
