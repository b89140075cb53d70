// A CommonJS process file, evaluated by node.
const path = require('path');
console.log('noise on stdout must not break the result');
module.exports = {
  apps: [{
    name: 'js-app',
    script: path.join(__dirname, 'server.js'),
    instances: 2,
    env: { FROM_JS: String(6 * 7) },
  }],
};
