import type { APIGatewayProxyEventV2 } from 'aws-lambda';

export interface ApiEventOverrides {
  /** HTTP method; defaults to POST. */
  method?: string;
  /** Request path as the client sent it; defaults to '/'. */
  path?: string;
  /**
   * Request headers. Names are lowercased, as API Gateway HTTP APIs (payload v2)
   * deliver them. A value of `undefined` removes a default header.
   */
  headers?: Record<string, string | undefined>;
  /** Query parameters; become both `rawQueryString` and `queryStringParameters`. */
  query?: Record<string, string>;
  /**
   * The payload the client sent. A string is sent as is; anything else (object,
   * array) is sent as JSON. With `isBase64Encoded` the builder base64-encodes it,
   * as API Gateway does for binary media types. A Buffer is sent as its bytes, base64-encoded, as API
   * Gateway hands over a multipart/form-data body (wx.uploadFile).
   */
  body?: string | Buffer | object;
  isBase64Encoded?: boolean;
}

/** A realistic API Gateway HTTP API (payload format 2.0) event. */
export function apiEvent(overrides: ApiEventOverrides = {}): APIGatewayProxyEventV2 {
  const method = (overrides.method ?? 'POST').toUpperCase();
  const path = overrides.path ?? '/';
  const bytes = Buffer.isBuffer(overrides.body) ? overrides.body : undefined;
  const isBase64Encoded = bytes !== undefined || (overrides.isBase64Encoded ?? false);
  const plainBody =
    overrides.body === undefined || bytes ? undefined : typeof overrides.body === 'string' ? overrides.body : JSON.stringify(overrides.body);
  const body = bytes
    ? bytes.toString('base64')
    : plainBody !== undefined && isBase64Encoded
      ? Buffer.from(plainBody, 'utf8').toString('base64')
      : plainBody;

  const headers: Record<string, string> = {
    accept: '*/*',
    host: 'abc123.execute-api.us-east-1.amazonaws.com',
    'user-agent': 'Mozilla/5.0 (iPhone) MicroMessenger/8.0.50 miniProgram',
    'x-forwarded-for': '203.0.113.7',
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
  };
  if (plainBody !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(plainBody, 'utf8'));
  }
  if (bytes) headers['content-length'] = String(bytes.length);
  for (const [name, value] of Object.entries(overrides.headers ?? {})) {
    const key = name.toLowerCase();
    if (value === undefined) delete headers[key];
    else headers[key] = value;
  }

  const query = overrides.query ?? {};
  const rawQueryString = new URLSearchParams(query).toString();
  const time = new Date(Date.UTC(2024, 0, 15, 8, 30, 0));

  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString,
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method,
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: 'req-0000-test',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '15/Jan/2024:08:30:00 +0000',
      timeEpoch: time.getTime(),
    },
    isBase64Encoded,
  };
  if (Object.keys(query).length > 0) event.queryStringParameters = { ...query };
  if (body !== undefined) event.body = body;
  return event;
}
