const { isApiError } = require('wechat-miniprogram-login-client');

/** @type {{ client: import('wechat-miniprogram-login-client').Client }} */
const { client } = getApp();

/** What the Redeem button buys: this coupon, once per user. A shop whose purchases repeat uses its order id instead. */
const COUPON = { id: 'welcome-10', price: 10 };

Page({
  data: { loggedIn: false, credit: 0, phone: '', phoneKnown: false, phoneQuotaUsedUp: false, nickName: '', avatarUrl: '', message: '' },

  // credit() logs in when there is no live session. Logging in before the phone button is
  // shown (and never calling wx.login() between a prompt and sending what it gave) is the
  // order that keeps the session's session_key the one WeChat encrypted the data with.
  onLoad() {
    this.refresh();
  },

  async refresh() {
    try {
      const { credit } = await client.credit();
      // The profile says whether the phone number is known: then the (billed) phone button is not shown.
      const { nickName = '', avatarUrl = '', phone } = await client.getProfile();
      this.setData({ loggedIn: true, credit, nickName, avatarUrl, phoneKnown: phone.known, phone: phone.masked || '', message: '' });
    } catch (err) {
      this.fail(err);
    }
  },

  /** @param {WechatMiniprogram.ButtonGetPhoneNumber} event */
  async onGetPhoneNumber(event) {
    // errno 1400001: the mini-program's paid phone-number verifications are used up; hide the button.
    if (/** @type {{ errno?: number }} */ (event.detail).errno === 1400001) return this.setData({ phoneQuotaUsedUp: true });
    // No code: the user declined (or the account cannot share a number).
    if (!event.detail.code) return this.setData({ message: 'The phone number was not shared' });
    try {
      const { purePhoneNumber } = await client.phoneNumber(event.detail.code);
      this.setData({ phone: purePhoneNumber, phoneKnown: true, message: 'Phone number saved' });
    } catch (err) {
      this.fail(err);
    }
  },

  /** <button open-type="chooseAvatar">: a temporary file, sent with wx.uploadFile. @param {{ detail: { avatarUrl: string } }} event */
  async onChooseAvatar(event) {
    try {
      const { avatarUrl } = await client.uploadAvatar(event.detail.avatarUrl);
      this.setData({ avatarUrl, message: 'Avatar saved' });
    } catch (err) {
      this.fail(err);
    }
  },

  /** <input type="nickname">: checked by WeChat on the server (CONTENT_REJECTED if refused). @param {{ detail: { value: string } }} event */
  async onNickname(event) {
    if (!event.detail.value.trim() || event.detail.value.trim() === this.data.nickName) return;
    try {
      const { nickName = '' } = await client.setNickname(event.detail.value);
      this.setData({ nickName, message: 'Nickname saved' });
    } catch (err) {
      this.fail(err);
    }
  },

  /** The daily check-in: granted 0 when the user checked in today already. */
  async onCheckin() {
    try {
      const { credit, granted, streak } = await client.checkin();
      this.setData({ credit, message: granted ? `+${granted} points (day ${streak} in a row)` : 'Already checked in today' });
    } catch (err) {
      this.fail(err);
    }
  },

  /**
   * Redeems the coupon for 10 points. The idempotency key is derived from what is bought, never made per tap:
   * a second tap after a lost reply (NETWORK) or a 5xx is the same purchase, which the server answers with the
   * first reply and charges once.
   */
  async onRedeem() {
    try {
      await client.spend({ amount: COUPON.price, key: 'coupon-' + COUPON.id, reason: 'coupon' });
      // A retry gets the first reply again, whose balance may be older than a check-in since: read it afresh.
      const { credit } = await client.credit();
      this.setData({ credit, message: 'Coupon redeemed' });
    } catch (err) {
      if (isApiError(err) && err.code === 'INSUFFICIENT_CREDIT') return this.setData({ message: 'Not enough points' });
      if (isApiError(err) && (err.code === 'NETWORK' || err.status >= 500))
        return this.setData({ message: 'Not sure it went through: tap again, you will not be charged twice' });
      this.fail(err);
    }
  },

  async onLogout() {
    try {
      await client.logout();
      this.setData({ loggedIn: false, credit: 0, phone: '', phoneKnown: false, nickName: '', avatarUrl: '', message: 'Logged out' });
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
