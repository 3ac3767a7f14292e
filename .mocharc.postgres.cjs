// `npm run test:postgres`: the suites that drive the whole bot over HTTP, again on PostgreSQL
// (TEST_STORE=postgres gives each test bot a fresh database of the throwaway server).
const base = require('./.mocharc.json');
module.exports = { ...base, spec: ['test/*.http.test.ts'] };
