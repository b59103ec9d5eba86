import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured JSON logger per instance. Level from POWERTOOLS_LOG_LEVEL.
 * Nothing may log a secret, session_key, token or code: log what happened
 * (endpoint, outcome, WeChat errcode and rid), never the values that did it.
 */
export const logger = new Logger({ serviceName: 'wechat-login' });
