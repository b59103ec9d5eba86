import { fileURLToPath } from 'node:url';

/** Where `npm start` tells `npm run try` (and you) what it is running. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const STATE_FILE = process.env.LOCAL_STACK_FILE || `${ROOT}.local/stack.json`;

/** The local stand-ins for a real mini-program's AppID and AppSecret. */
export const LOCAL_APPID = 'wx0000000000000000';
export const LOCAL_SECRET = 'local-fake-app-secret';
