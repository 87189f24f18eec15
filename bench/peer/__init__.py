"""The Node.js peer of issue 30 (server.mjs) and the side-by-side run against it: `python -m bench --section peer`."""
