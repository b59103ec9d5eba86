/**
 * Every endpoint the client calls, as API Gateway names its routes. A test
 * (test/unit/openapi.test.ts) checks that serverless.yml, openapi.yaml and
 * this list name the same routes.
 */
export const ROUTES = {
  login: 'POST /login',
  checkLogin: 'GET /checklogin',
  credit: 'GET /credit',
  userInfo: 'POST /userinfo',
  phoneNumber: 'POST /phonenumber',
  logout: 'POST /logout',
  spend: 'POST /credit/spend',
  checkin: 'POST /credit/checkin',
  history: 'GET /credit/history',
  getProfile: 'GET /profile',
  setNickname: 'PUT /profile',
  uploadAvatar: 'POST /profile/avatar',
} as const;

export type Route = (typeof ROUTES)[keyof typeof ROUTES];
