// An ES module process file, evaluated by node.
export default {
  apps: [{ name: 'esm-app', script: 'server.js', exec_mode: 'fork' }],
};
