const { isApiError } = require('wechat-miniprogram-login-client');

/** @type {{ client: import('wechat-miniprogram-login-client').Client }} */
const { client } = getApp();

Page({
  data: { loggedIn: false, credit: 0, phone: '', message: '' },

  // credit() logs in when there is no live session. Logging in before the phone button is
  // shown (and never calling wx.login() between a prompt and sending what it gave) is the
  // order that keeps the session's session_key the one WeChat encrypted the data with.
  onLoad() {
    this.refresh();
  },

  async refresh() {
    try {
      const { credit } = await client.credit();
      this.setData({ loggedIn: true, credit, message: '' });
    } catch (err) {
      this.fail(err);
    }
  },

  /** @param {WechatMiniprogram.ButtonGetPhoneNumber} event */
  async onGetPhoneNumber(event) {
    // No code: the user declined (or the account cannot share a number).
    if (!event.detail.code) return this.setData({ message: 'The phone number was not shared' });
    try {
      const { purePhoneNumber } = await client.phoneNumber(event.detail.code);
      this.setData({ phone: purePhoneNumber, message: 'Phone number saved' });
    } catch (err) {
      this.fail(err);
    }
  },

  async onLogout() {
    try {
      await client.logout();
      this.setData({ loggedIn: false, credit: 0, phone: '', message: 'Logged out' });
    } catch (err) {
      // The client has forgotten the token already; the server could not be told.
      this.setData({ loggedIn: false, credit: 0, phone: '' });
      this.fail(err);
    }
  },

  /** @param {unknown} err */
  fail(err) {
    this.setData({ message: isApiError(err) ? `${err.code}: ${err.message}` : String(err) });
  },
});
