import { describe, expect, it } from 'vitest';
import { api, scanUsers } from '../support/invoke.ts';
import { DEFAULT_MAX_BYTES_FOR_TESTS } from '../support/limits.ts';
import { IMAGES, jpegOfSize, multipart, uploadFileBody } from '../support/multipart.ts';
import { APP_ID, startTestStack } from '../support/stack.ts';
import { useTestStack } from '../support/use-stack.ts';

const { stack, client } = useTestStack();

function cutInsideFile() {
  const upload = uploadFileBody(IMAGES.jpeg);
  const end = upload.body.indexOf(IMAGES.jpeg) + 20;
  return { ...upload, body: upload.body.subarray(0, end) };
}

const token = async (code: string) => {
  const reply = await client.login(code);
  expect(reply.status, reply.raw).toBe(200);
  return String(reply.body.token);
};
const userItem = async (name: string) => {
  const users = await scanUsers(stack.admin, stack.tables);
  return users.find((user) => user.openid === stack.fake.user(name, APP_ID).openid);
};
/** The object behind a URL, as <image src> loads it: a plain GET, no header. */
const download = async (url: string) => {
  const response = await fetch(url);
  return { status: response.status, type: response.headers.get('content-type'), bytes: Buffer.from(await response.arrayBuffer()) };
};

describe('GET /profile', () => {
  it('a new user has filled in nothing, and no phone number is known', async () => {
    const reply = await client.profile(await token('pnew.1'));
    expect(reply.status, reply.raw).toBe(200);
    expect(reply.body).toEqual({ phone: { known: false } });
  });

  it('needs a live session of its own app', async () => {
    expect((await client.invoke('profile', { method: 'GET', path: '/profile' })).body).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await client.profile('junk')).body).toMatchObject({ code: 'SESSION_INVALID' });
    const alice = await token('pscope.1');
    const other = await client.invoke('profile', {
      method: 'GET',
      path: '/profile',
      headers: { authorization: `Bearer ${alice}`, 'x-wx-appid': 'wxfedcba0987654321' },
    });
    expect(other).toMatchObject({ status: 401, body: { code: 'SESSION_INVALID' } });
  });
});

describe('PUT /profile: the nickname, checked by msg_sec_check', () => {
  it('saves a nickname WeChat passes (trimmed) and answers with the profile', async () => {
    const t = await token('nick.1');
    const reply = await client.setNickname(t, { nickName: '  小明 🐼  ' });
    expect(reply.status, reply.raw).toBe(200);
    expect(reply.body).toEqual({ nickName: '小明 🐼', phone: { known: false } });
    expect(stack.fake.checkedTexts.at(-1)).toBe('小明 🐼');
    expect((await client.profile(t)).body).toEqual({ nickName: '小明 🐼', phone: { known: false } });
    expect(await userItem('nick')).toMatchObject({ nickName: '小明 🐼', nickNameUpdatedAt: expect.any(Number), credit: 100 });
  });

  it('refuses a risky nickname with 422 CONTENT_REJECTED, says nothing of the verdict, saves nothing', async () => {
    const t = await token('risky.1');
    await client.setNickname(t, { nickName: 'Fine Name' });
    const reply = await client.setNickname(t, { nickName: 'risky words' });
    expect(reply.status).toBe(422);
    expect(reply.body).toEqual({ err: 'This nickname was refused: choose another one', code: 'CONTENT_REJECTED' });
    expect(reply.raw).not.toMatch(/risky|label|20001|trace/i);
    expect((await client.profile(t)).body).toMatchObject({ nickName: 'Fine Name' });
  });

  it('refuses a "review" verdict by default (NICKNAME_REVIEW=reject)', async () => {
    const reply = await client.setNickname(await token('review.1'), { nickName: 'please review me' });
    expect(reply).toMatchObject({ status: 422, body: { code: 'CONTENT_REJECTED' } });
  });

  it('accepts a "review" verdict with NICKNAME_REVIEW=accept', async () => {
    const other = await startTestStack({ NICKNAME_REVIEW: 'accept' });
    try {
      const c = api(other.deps);
      const t = String((await c.login('reviewok.1')).body.token);
      expect((await c.setNickname(t, { nickName: 'please review me' })).body).toEqual({ nickName: 'please review me', phone: { known: false } });
    } finally {
      await other.close();
    }
  });

  it.each([
    ['busy twice (-1)', 'x fail--1', 503, 'WECHAT_BUSY'],
    ['an errcode we do not map', 'x fail-61010', 502, 'WECHAT_BAD_RESPONSE'],
    ['errcode 87014 (version 1: risky)', 'x fail-87014', 422, 'CONTENT_REJECTED'],
  ])('WeChat %s: the contract error, nothing unchecked saved', async (_what, nickName, status, code) => {
    const t = await token(`wxfail${status}.1`);
    const reply = await client.setNickname(t, { nickName });
    expect(reply, reply.raw).toMatchObject({ status, body: { code } });
    expect((await client.profile(t)).body).toEqual({ phone: { known: false } });
  });

  it.each([
    ['empty', { nickName: '' }],
    ['only spaces', { nickName: '   ' }],
    ['33 characters', { nickName: 'a'.repeat(33) }],
    ['a control character', { nickName: 'bad\u0007name' }],
    ['a newline', { nickName: 'two\nlines' }],
    ['a lone surrogate', { nickName: 'x\ud800y' }],
    ['a zero-width space', { nickName: 'Ali\u200Bce' }],
    ['a right-to-left override', { nickName: 'abc\u202Egpj.exe' }],
    ['a left-to-right isolate', { nickName: '\u2066Alice' }],
    ['the Hangul filler', { nickName: '\u3164' }],
    ['braille blanks', { nickName: '\u2800\u2800' }],
    ['a private-use character', { nickName: 'x\uE000' }],
    ['an unassigned code point', { nickName: 'x\u{2FFFF}' }],
    ['stacked combining marks', { nickName: `Z${'\u0336'.repeat(30)}` }],
    ['a zero-width joiner between letters', { nickName: 'a\u200Db' }],
    ['not a string', { nickName: 42 }],
    ['missing', {}],
  ])('refuses a nickname that is %s with 400, before asking WeChat', async (what, body) => {
    const before = stack.fake.checkedTexts.length;
    const reply = await client.setNickname(await token(`badnick-${what.replaceAll(' ', '-')}.1`), body);
    expect(reply, reply.raw).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', err: expect.stringContaining('nickName') } });
    expect(stack.fake.checkedTexts.length).toBe(before);
  });

  it('a family emoji (joined by U+200D) and a variation selector are fine', async () => {
    const reply = await client.setNickname(await token('family.1'), { nickName: '小明 👨\u200D👩\u200D👧 ❤️' });
    expect(reply, reply.raw).toMatchObject({ status: 200, body: { nickName: '小明 👨\u200D👩\u200D👧 ❤️' } });
  });

  it('32 characters are characters, not UTF-16 units: 32 emoji fit', async () => {
    const reply = await client.setNickname(await token('emoji.1'), { nickName: '🐼'.repeat(32) });
    expect(reply.status, reply.raw).toBe(200);
  });
});

describe('POST /phonenumber: asked once (each exchange costs money)', () => {
  it('the first number is saved and shown masked; a second request is 409 without asking WeChat; replace: true replaces it', async () => {
    const t = await token('phone1.1');
    expect((await client.phonenumber(t, { code: 'phone-13800138000' })).status).toBe(200);
    expect((await client.profile(t)).body).toEqual({ phone: { known: true, masked: '138****8000' } });

    const calls = stack.fake.apiCalls.filter((path) => path.endsWith('getuserphonenumber')).length;
    const again = await client.phonenumber(t, { code: 'phone-13900139000' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'PHONE_ALREADY_KNOWN', err: expect.stringContaining('"replace": true') });
    expect(stack.fake.apiCalls.filter((path) => path.endsWith('getuserphonenumber')).length).toBe(calls);

    const replaced = await client.phonenumber(t, { code: 'phone-13900139000', replace: true });
    expect(replaced.body).toEqual({ phoneNumber: '+8613900139000', purePhoneNumber: '13900139000', countryCode: '86' });
    expect((await client.profile(t)).body).toEqual({ phone: { known: true, masked: '139****9000' } });
  });

  it('replace must be a boolean', async () => {
    const reply = await client.phonenumber(await token('phone2.1'), { code: 'phone-13800138001', replace: 'yes' });
    expect(reply).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST' } });
  });
});

describe('POST /profile/avatar: the image wx.uploadFile sends', () => {
  it("stores a JPEG under the user's own key; its URL loads the same bytes without any header, and GET /profile gives it too", async () => {
    const t = await token('ava.1');
    const reply = await client.avatar(t, uploadFileBody(IMAGES.jpeg));
    expect(reply.status, reply.raw).toBe(200);
    const url = String(reply.body.avatarUrl);
    expect(url).toContain(`${stack.s3Endpoint}/${stack.bucket}/avatars/${APP_ID}/`);
    // Presigned, short-lived: SigV4 query authentication, an hour by default.
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('3600');
    expect(new URL(url).searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(await download(url)).toEqual({ status: 200, type: 'image/jpeg', bytes: IMAGES.jpeg });

    const profile = await client.profile(t);
    expect(profile.body).toEqual({ avatarUrl: expect.any(String), phone: { known: false } });
    expect(await download(String(profile.body.avatarUrl))).toMatchObject({ status: 200, bytes: IMAGES.jpeg });
    const user = await userItem('ava');
    expect(String(user?.avatarKey)).toMatch(new RegExp(`^avatars/${APP_ID}/${String(user?.uid)}/[\\w-]{32}\\.jpg$`));
  });

  it('a new avatar (a PNG, then a WebP) replaces the old one, whose object is deleted', async () => {
    const t = await token('ava2.1');
    await client.avatar(t, uploadFileBody(IMAGES.jpeg));
    const first = String((await userItem('ava2'))?.avatarKey);
    const png = await client.avatar(t, uploadFileBody(IMAGES.png, 'tmp_1.png', 'image/png'));
    expect(png.status, png.raw).toBe(200);
    expect(await download(String(png.body.avatarUrl))).toMatchObject({ status: 200, type: 'image/png', bytes: IMAGES.png });
    expect((await fetch(`${stack.s3Endpoint}/${stack.bucket}/${first}`)).status).toBe(404);
    const webp = await client.avatar(t, uploadFileBody(IMAGES.webp, 'tmp_2.webp', 'image/webp'));
    expect(await download(String(webp.body.avatarUrl))).toMatchObject({ status: 200, type: 'image/webp', bytes: IMAGES.webp });
    // The same image again: a new object of its own, and the profile's URL loads it.
    const same = await client.avatar(t, uploadFileBody(IMAGES.webp, 'tmp_3.webp'));
    expect(await download(String(same.body.avatarUrl))).toMatchObject({ status: 200, bytes: IMAGES.webp });
  });

  it('takes exactly AVATAR_MAX_BYTES, and refuses one byte more with 413 IMAGE_TOO_LARGE', async () => {
    const t = await token('big.1');
    const max = stack.config.avatars.maxBytes;
    expect(max).toBe(DEFAULT_MAX_BYTES_FOR_TESTS);
    const exact = await client.avatar(t, uploadFileBody(jpegOfSize(max)));
    expect(exact.status, exact.raw).toBe(200);
    const over = await client.avatar(t, uploadFileBody(jpegOfSize(max + 1)));
    expect(over).toMatchObject({ status: 413, body: { code: 'IMAGE_TOO_LARGE', err: expect.stringContaining(String(max)) } });
  });

  it.each([
    ['a GIF', uploadFileBody(IMAGES.gif, 'tmp.gif', 'image/gif'), 400, 'INVALID_IMAGE'],
    ['an HTML file renamed .jpg', uploadFileBody(IMAGES.html, 'tmp_evil.jpg', 'image/jpeg'), 400, 'INVALID_IMAGE'],
    ['an empty file', uploadFileBody(Buffer.alloc(0)), 400, 'INVALID_IMAGE'],
    [
      'two files',
      multipart([
        { name: 'file', filename: 'a.jpg', data: IMAGES.jpeg },
        { name: 'file', filename: 'b.jpg', data: IMAGES.jpeg },
      ]),
      400,
      'INVALID_REQUEST',
    ],
    ['no file field (only form fields)', multipart([{ name: 'user', data: 'alice' }]), 400, 'INVALID_REQUEST'],
    ['the file under another name', multipart([{ name: 'image', filename: 'a.jpg', data: IMAGES.jpeg }]), 400, 'INVALID_REQUEST'],
    [
      'a huge form field',
      multipart([
        { name: 'note', data: 'x'.repeat(60_000) },
        { name: 'file', filename: 'a.jpg', data: IMAGES.jpeg },
      ]),
      400,
      'INVALID_REQUEST',
    ],
    ['a body far over the bound', uploadFileBody(jpegOfSize(3 * 1024 * 1024)), 413, 'BODY_TOO_LARGE'],
    ['JSON instead of multipart', { body: Buffer.from('{"file":"x"}'), contentType: 'application/json' }, 400, 'INVALID_REQUEST'],
    ['a multipart type without a boundary', { body: IMAGES.jpeg, contentType: 'multipart/form-data' }, 400, 'INVALID_REQUEST'],
    ['a truncated multipart body', { ...uploadFileBody(IMAGES.png), body: uploadFileBody(IMAGES.png).body.subarray(0, 60) }, 400, 'INVALID_REQUEST'],
    // Cut inside the file's bytes: the parser fails the file's own stream, which must not escape as an uncaught error.
    ['a body cut inside the file', cutInsideFile(), 400, 'INVALID_REQUEST'],
  ])('refuses %s with %s %s, and keeps the avatar it had', async (what, upload, status, code) => {
    const name = `bad-${what.replaceAll(/\W/g, '')}`;
    const t = await token(`${name}.1`);
    await client.avatar(t, uploadFileBody(IMAGES.png, 'ok.png'));
    const before = (await userItem(name))?.avatarKey;
    expect(before).toBeDefined();
    const reply = await client.avatar(t, upload);
    expect(reply.status, reply.raw).toBe(status);
    expect(reply.body).toEqual({ err: expect.any(String), code });
    expect((await userItem(name))?.avatarKey).toBe(before);
  });

  it('two overlapping uploads, the second re-picking the current image, leave the profile on a live object and no stray', async () => {
    const t = await token('avarace.1');
    expect((await client.avatar(t, uploadFileBody(IMAGES.jpeg))).status).toBe(200);
    const uid = String((await userItem('avarace'))?.uid);

    // Interleaving by hand: the first upload (a new PNG) stops right after its profile write, until the second
    // (the current JPEG again) has finished: write, delete of what it replaced, reply. Then the first deletes what it replaced.
    let releaseFirst = () => {};
    const firstMayGoOn = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    let firstWritten = () => {};
    const firstHasWritten = new Promise<void>((resolve) => {
      firstWritten = resolve;
    });
    let writes = 0;
    const profiles = stack.deps.profiles;
    const gated = api({
      ...stack.deps,
      profiles: {
        ...profiles,
        async replaceAvatarKey(...args: Parameters<typeof profiles.replaceAvatarKey>) {
          const result = await profiles.replaceAvatarKey(...args);
          if (++writes === 1) {
            firstWritten();
            await firstMayGoOn;
          }
          return result;
        },
      },
    });
    const first = gated.avatar(t, uploadFileBody(IMAGES.png, 'new.png', 'image/png'));
    await firstHasWritten;
    const second = await gated.avatar(t, uploadFileBody(IMAGES.jpeg, 'again.jpg'));
    expect(second.status, second.raw).toBe(200);
    releaseFirst();
    expect((await first).status).toBe(200);

    // The second write was the last: the profile shows the JPEG, and its object is there.
    const profile = await client.profile(t);
    expect(await download(String(profile.body.avatarUrl))).toMatchObject({ status: 200, type: 'image/jpeg', bytes: IMAGES.jpeg });
    // Every replaced object was deleted: only the one the profile points at is left under the user's prefix.
    const listing = await (await fetch(`${stack.s3Endpoint}/${stack.bucket}?prefix=${encodeURIComponent(`avatars/${APP_ID}/${uid}/`)}`)).text();
    const keys = [...listing.matchAll(/<Key>([^<]+)<\/Key>/g)].map((match) => match[1]);
    expect(keys).toEqual([(await userItem('avarace'))?.avatarKey]);
  });

  it('the same image again is a new object, and the old one is deleted', async () => {
    const t = await token('avasame.1');
    await client.avatar(t, uploadFileBody(IMAGES.webp, 'a.webp', 'image/webp'));
    const before = String((await userItem('avasame'))?.avatarKey);
    const again = await client.avatar(t, uploadFileBody(IMAGES.webp, 'b.webp', 'image/webp'));
    const after = String((await userItem('avasame'))?.avatarKey);
    expect(after).not.toBe(before);
    expect(await download(String(again.body.avatarUrl))).toMatchObject({ status: 200, bytes: IMAGES.webp });
    expect((await fetch(`${stack.s3Endpoint}/${stack.bucket}/${before}`)).status).toBe(404);
  });

  it('needs a session', async () => {
    expect((await client.avatar(undefined, uploadFileBody(IMAGES.jpeg))).body).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await client.avatar('junk', uploadFileBody(IMAGES.jpeg))).body).toMatchObject({ code: 'SESSION_INVALID' });
  });
});

describe('S3 failing: the contract error within a bound, and the profile as it was', () => {
  it('S3 unreachable: an upload is 503 STORAGE_UNAVAILABLE and the user keeps the avatar they had; GET /profile still answers', async () => {
    const t = await token('s3down.1');
    await client.avatar(t, uploadFileBody(IMAGES.png));
    const before = (await userItem('s3down'))?.avatarKey;
    expect(before).toBeDefined();
    // The same tables and users, but an S3 endpoint where nothing listens.
    const { freePort } = await import('../../local/ports.ts');
    const { allDeps } = await import('#lib/wiring');
    const { readConfig } = await import('#lib/config');
    const { api } = await import('../support/invoke.ts');
    const deadS3 = readConfig({
      WECHAT_APPID: APP_ID,
      WECHAT_SECRET: 'unused-here',
      SESSIONS_TABLE: stack.tables.sessions,
      USERS_TABLE: stack.tables.users,
      LOGINS_TABLE: stack.tables.logins,
      APP_CACHE_TABLE: stack.tables.appCache,
      LEDGER_TABLE: stack.tables.ledger,
      DYNAMODB_ENDPOINT: stack.config.dynamodbEndpoint,
      AVATARS_BUCKET: stack.bucket,
      S3_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
    });
    const down = api(allDeps(deadS3, { now: stack.clock.now }));
    const started = performance.now();
    const reply = await down.avatar(t, uploadFileBody(IMAGES.jpeg));
    expect(reply).toMatchObject({ status: 503, body: { code: 'STORAGE_UNAVAILABLE' } });
    expect(performance.now() - started).toBeLessThan(2 * 3000);
    expect((await userItem('s3down'))?.avatarKey).toBe(before);
    // Presigning needs no S3: the profile is still served.
    expect((await down.profile(t)).body).toMatchObject({ avatarUrl: expect.any(String) });
  });

  it('a bucket that does not exist is a misconfiguration: 500 INTERNAL, the avatar unchanged', async () => {
    const other = await startTestStack({ AVATARS_BUCKET: 'no-such-bucket-here' });
    try {
      const { api } = await import('../support/invoke.ts');
      const c = api(other.deps);
      const t = String((await c.login('nobucket.1')).body.token);
      expect(await c.avatar(t, uploadFileBody(IMAGES.jpeg))).toMatchObject({ status: 500, body: { code: 'INTERNAL' } });
      expect((await c.profile(t)).body).toEqual({ phone: { known: false } });
    } finally {
      await other.close();
    }
  });
});

describe('profiles are per app', () => {
  it("a session of another mini-program has its own profile, and its avatar lives under that app's prefix", async () => {
    const { APP_ID_B } = await import('../support/stack.ts');
    const login = await client.invoke('login', { method: 'POST', path: '/login', body: JSON.stringify({ code: 'twoapps.1', appid: APP_ID_B }) });
    const inB = String(login.body.token);
    const inA = await token('twoapps.2');
    await client.setNickname(inA, { nickName: 'In A' });
    expect((await client.profile(inB)).body).toEqual({ phone: { known: false } });
    const reply = await client.avatar(inB, uploadFileBody(IMAGES.png));
    expect(String(reply.body.avatarUrl)).toContain(`/avatars/${APP_ID_B}/`);
    expect((await client.profile(inA)).body).toEqual({ nickName: 'In A', phone: { known: false } });
  });
});
