// The floor for a Node program doing what `keystone logs celery-worker` does: read the kubeconfig,
// list the pods by label, read every pod's log at once over HTTPS with the client certificate, and
// write each whole line with its pod's prefix. No keystone code (no control-character cleaning,
// batching or backpressure); the bench runs it beside keystone and kubectl to show what Node
// itself costs for the same streams. `node bench/logs-floor.cjs KUBECONFIG NAMESPACE SELECTOR`
'use strict';
const fs = require('node:fs');
const https = require('node:https');
const [kubeconfig, namespace, selector] = process.argv.slice(2);
const text = fs.readFileSync(kubeconfig, 'utf8');
const field = (name) => Buffer.from(new RegExp(`${name}: (\\S+)`).exec(text)[1], 'base64');
const server = /server: (\S+)/.exec(text)[1];
const agent = new https.Agent({
  keepAlive: true,
  ca: field('certificate-authority-data'),
  cert: field('client-certificate-data'),
  key: field('client-key-data'),
});
const get = (path, onResponse) =>
  https.get(`${server}${path}`, { agent }, onResponse).on('error', (err) => {
    console.error(err.message);
    process.exit(1);
  });
get(`/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`, (res) => {
  const chunks = [];
  res.on('data', (c) => chunks.push(c));
  res.on('end', () => {
    const pods = JSON.parse(Buffer.concat(chunks).toString()).items.map((p) => p.metadata.name);
    let left = pods.length;
    for (const pod of pods)
      get(`/api/v1/namespaces/${namespace}/pods/${pod}/log`, (log) => {
        const prefix = `[${pod}] `;
        let pending = '';
        log.setEncoding('utf8'); // a character cut between chunks waits for the next
        log.on('data', (s) => {
          const all = pending + s;
          const last = all.lastIndexOf('\n');
          if (last < 0) pending = all;
          else {
            pending = all.slice(last + 1);
            fs.writeSync(1, `${prefix}${all.slice(0, last).replaceAll('\n', `\n${prefix}`)}\n`);
          }
        });
        log.on('end', () => {
          if (pending) fs.writeSync(1, `${prefix}${pending}\n`);
          if (--left === 0) process.exit(0);
        });
      });
  });
});
