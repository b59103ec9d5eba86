// One client for the whole mini-program, created at launch; pages reach it through getApp().
const { createClient } = require('wechat-miniprogram-login-client');

App({
  // `wx` is the default; it is passed here so that `npm test` type-checks the mini-program's real
  // `wx` (miniprogram-api-typings) against what the client needs. Taro: `Taro`; uni-app: `uni`.
  // The domain must be listed in the console: 开发管理 → 开发设置 → 服务器域名 → request 合法域名.
  client: createClient({ baseUrl: 'https://api.example.com', wx }),
});
