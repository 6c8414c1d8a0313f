// The floor for a Node program doing what `keystone __complete scale ""` does over the network:
// read the kubeconfig, one HTTPS GET with the client certificate, print the names. No keystone
// code; the bench runs it beside keystone and kubectl to show what Node itself costs.
// `node bench/node-floor.cjs KUBECONFIG PATH`
'use strict';
const fs = require('node:fs');
const https = require('node:https');
const [kubeconfig, path] = process.argv.slice(2);
const text = fs.readFileSync(kubeconfig, 'utf8');
const field = (name) => Buffer.from(new RegExp(`${name}: (\\S+)`).exec(text)[1], 'base64');
const server = /server: (\S+)/.exec(text)[1];
https
  .get(
    `${server}${path}`,
    { ca: field('certificate-authority-data'), cert: field('client-certificate-data'), key: field('client-key-data') },
    (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        for (const item of JSON.parse(Buffer.concat(chunks).toString()).items)
          process.stdout.write(`${item.metadata.name}\n`);
      });
    },
  )
  .on('error', (err) => {
    console.error(err.message);
    process.exitCode = 1;
  });
