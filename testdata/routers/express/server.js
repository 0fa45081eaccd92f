// An Express 5 application with default router settings (case-insensitive,
// trailing slash optional), for forgeproof's differential dispatch test.
// Every handler answers with its own name, so the test learns which handler
// a request reached. Usage: node server.js PORT
'use strict';
const express = require('express');

const app = express();
const named = (name) => (req, res) => res.type('text/plain').send(name);

app.post('/transfer', named('transfer'));
app.all('/admin/users', named('admin'));
app.post('/api/items/:id', named('items'));
app.all('/hooks/stripe', named('hooks'));
app.use((req, res) => res.status(404).type('text/plain').send('none'));

const port = Number(process.argv[2]);
app.listen(port, '127.0.0.1');
