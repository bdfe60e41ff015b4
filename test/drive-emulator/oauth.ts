import { type KeyObject, createHash, createPublicKey, randomBytes, verify } from 'node:crypto';

/** Google's OAuth 2.0 endpoints as the emulator answers them: consent, token (three grants) and revoke. */

export interface OAuthClientConfig {
  clientId: string;
  clientSecret: string;
  /** A refresh token the token endpoint accepts from the start, as if the user had consented before. */
  refreshToken: string;
}

/** A service account and what a Workspace admin granted it: domain-wide delegation for these users and scopes. */
export interface ServiceAccountGrant {
  clientEmail: string;
  /** The public half of the key pair whose private half signs the account's JWTs (PEM or a KeyObject). */
  publicKey: string | KeyObject;
  /** Users the account may act as (`sub`). */
  subjects: string[];
  /** Scopes delegated to it; default drive.readonly. */
  scopes?: string[];
}

/** What the token endpoint gives in return for a grant; `grant` names the refresh token it stems from, if any. */
export interface TokenIssuer {
  issueAccessToken(grant?: string): string;
  revokeAccessTokensOf(grant: string): void;
  lifetimeSeconds(): number;
}

export interface OAuthReply {
  status: number;
  headers?: Record<string, string>;
  body?: object;
}

/** The audience Google's token endpoint expects in a JWT bearer assertion. */
export const GOOGLE_TOKEN_AUDIENCE = 'https://oauth2.googleapis.com/token';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const DRIVE_READONLY = 'https://www.googleapis.com/auth/drive.readonly';
const CODE_LIFETIME_MS = 10 * 60 * 1000;
const CLOCK_SKEW_SECONDS = 300;

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  scope: string;
  offline: boolean;
  challenge?: { value: string; method: 'S256' | 'plain' };
  expiresAt: number;
  used: boolean;
}

const oauthError = (status: number, error: string, description: string): OAuthReply => ({
  status,
  body: { error, error_description: description },
});
const REVOKED = () => oauthError(400, 'invalid_grant', 'Token has been expired or revoked.');
const INVALID_CLIENT = () => oauthError(401, 'invalid_client', 'The OAuth client was not found.');
const base64url = (b: Buffer) => b.toString('base64url');

/** Loopback redirects only: the installed-app flow Google allows for Desktop clients. */
function isLoopbackRedirect(uri: string): boolean {
  try {
    const u = new URL(uri);
    return u.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname);
  } catch {
    return false;
  }
}

export class OAuthEndpoints {
  /** Refresh tokens that work, and the scope each grants. */
  private readonly refreshTokens = new Map<string, { clientId: string; scope: string }>();
  private readonly codes = new Map<string, IssuedCode>();
  /** Every refresh token a consent gave, revoked or not: tests check that none leaks into logs or files. */
  readonly issuedRefreshTokens: string[] = [];
  private readonly serviceAccounts: Map<string, ServiceAccountGrant & { key: KeyObject }>;
  /** What the next consent answers: the user allows, or refuses (`access_denied`). */
  consentAnswer: 'allow' | 'access_denied' = 'allow';

  constructor(
    private readonly client: OAuthClientConfig | undefined,
    serviceAccounts: ServiceAccountGrant[],
    private readonly tokens: TokenIssuer,
  ) {
    if (client) this.refreshTokens.set(client.refreshToken, { clientId: client.clientId, scope: DRIVE_READONLY });
    this.serviceAccounts = new Map(
      serviceAccounts.map((sa) => [
        sa.clientEmail,
        { ...sa, key: typeof sa.publicKey === 'string' ? createPublicKey(sa.publicKey) : sa.publicKey },
      ]),
    );
  }

  /** The user revokes the app's access (myaccount.google.com/permissions): the token and its access tokens stop working. */
  revokeRefreshToken(token: string): boolean {
    this.tokens.revokeAccessTokensOf(token);
    return this.refreshTokens.delete(token);
  }

  /**
   * `GET /o/oauth2/v2/auth`: the consent page. The emulated user consents at once (or refuses, per `consentAnswer`);
   * the browser is sent to the redirect URI with a single-use code. Bad requests get Google's error, not a redirect.
   */
  consent(q: URLSearchParams): OAuthReply {
    const clientId = q.get('client_id');
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!this.client || clientId !== this.client.clientId) return oauthError(401, 'invalid_client', 'The OAuth client was not found.');
    if (!isLoopbackRedirect(redirectUri)) return oauthError(400, 'redirect_uri_mismatch', `Invalid redirect_uri: ${redirectUri}`);
    if (q.get('response_type') !== 'code') return oauthError(400, 'unsupported_response_type', 'Only response_type=code is emulated.');
    const scope = q.get('scope') ?? '';
    if (!scope) return oauthError(400, 'invalid_request', 'Missing required parameter: scope');
    const method = q.get('code_challenge_method') ?? (q.get('code_challenge') ? 'plain' : undefined);
    if (method && method !== 'S256' && method !== 'plain') return oauthError(400, 'invalid_request', 'Invalid code_challenge_method');
    if (method && !q.get('code_challenge')) return oauthError(400, 'invalid_request', 'Missing code_challenge');
    const back = new URL(redirectUri);
    const state = q.get('state');
    if (state !== null) back.searchParams.set('state', state);
    if (this.consentAnswer === 'access_denied') {
      back.searchParams.set('error', 'access_denied');
      return { status: 302, headers: { location: back.href } };
    }
    const code = `4/emu-${base64url(randomBytes(24))}`;
    this.codes.set(code, {
      clientId,
      redirectUri,
      scope,
      offline: q.get('access_type') === 'offline',
      challenge: method ? { value: q.get('code_challenge')!, method: method as 'S256' | 'plain' } : undefined,
      expiresAt: Date.now() + CODE_LIFETIME_MS,
      used: false,
    });
    back.searchParams.set('code', code);
    back.searchParams.set('scope', scope);
    return { status: 302, headers: { location: back.href } };
  }

  /** `POST /token`: the refresh-token, authorization-code and JWT-bearer grants, with Google's error bodies. */
  token(body: Buffer): OAuthReply {
    const form = new URLSearchParams(body.toString());
    switch (form.get('grant_type')) {
      case 'refresh_token':
        return this.refreshGrant(form);
      case 'authorization_code':
        return this.codeGrant(form);
      case JWT_BEARER:
        return this.jwtGrant(form.get('assertion') ?? '');
      default:
        return oauthError(400, 'unsupported_grant_type', `Invalid grant_type: ${form.get('grant_type') ?? ''}`);
    }
  }

  /** `POST /revoke?token=` (or in the form): a refresh token, and the access tokens issued from it. */
  revoke(q: URLSearchParams, body: Buffer): OAuthReply {
    const token = q.get('token') ?? new URLSearchParams(body.toString()).get('token') ?? '';
    if (!this.revokeRefreshToken(token)) return oauthError(400, 'invalid_token', 'Token expired or revoked');
    return { status: 200, body: {} };
  }

  private clientAuthenticates(form: URLSearchParams): boolean {
    return !!this.client && form.get('client_id') === this.client.clientId && form.get('client_secret') === this.client.clientSecret;
  }

  private accessReply(scope: string, refreshToken?: string, grant?: string): OAuthReply {
    const reply: Record<string, unknown> = {
      access_token: this.tokens.issueAccessToken(grant),
      expires_in: this.tokens.lifetimeSeconds(),
      token_type: 'Bearer',
      scope,
    };
    if (refreshToken) reply.refresh_token = refreshToken;
    return { status: 200, body: reply };
  }

  private refreshGrant(form: URLSearchParams): OAuthReply {
    if (!this.clientAuthenticates(form)) return INVALID_CLIENT();
    const token = form.get('refresh_token') ?? '';
    const known = this.refreshTokens.get(token);
    if (!known || known.clientId !== form.get('client_id')) return REVOKED();
    return this.accessReply(known.scope, undefined, token);
  }

  private codeGrant(form: URLSearchParams): OAuthReply {
    if (!this.clientAuthenticates(form)) return INVALID_CLIENT();
    const code = this.codes.get(form.get('code') ?? '');
    if (!code || code.used || code.expiresAt < Date.now() || code.clientId !== form.get('client_id')) {
      return oauthError(400, 'invalid_grant', 'Bad Request');
    }
    if (form.get('redirect_uri') !== code.redirectUri) return oauthError(400, 'redirect_uri_mismatch', 'Bad Request');
    if (code.challenge) {
      const verifier = form.get('code_verifier');
      if (!verifier) return oauthError(400, 'invalid_grant', 'Missing code verifier.');
      const computed = code.challenge.method === 'S256' ? base64url(createHash('sha256').update(verifier).digest()) : verifier;
      if (computed !== code.challenge.value) return oauthError(400, 'invalid_grant', 'Invalid code verifier.');
    }
    code.used = true;
    const refreshToken = code.offline ? `1//emu-${base64url(randomBytes(32))}` : undefined;
    if (refreshToken) {
      this.refreshTokens.set(refreshToken, { clientId: code.clientId, scope: code.scope });
      this.issuedRefreshTokens.push(refreshToken);
    }
    return this.accessReply(code.scope, refreshToken, refreshToken);
  }

  /** A service account's signed assertion (RFC 7523), checked as Google does: signature, issuer, audience, times, delegation. */
  private jwtGrant(assertion: string): OAuthReply {
    const parts = assertion.split('.');
    const badJwt = (why: string) => oauthError(400, 'invalid_grant', why);
    if (parts.length !== 3) return badJwt('Invalid JWT: malformed assertion.');
    let header: { alg?: string };
    let claims: { iss?: string; sub?: string; scope?: string; aud?: string; iat?: number; exp?: number };
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    } catch {
      return badJwt('Invalid JWT: malformed assertion.');
    }
    const account = this.serviceAccounts.get(claims.iss ?? '');
    if (!account) return badJwt('Invalid grant: account not found');
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    if (header.alg !== 'RS256' || !verify('RSA-SHA256', signed, account.key, Buffer.from(parts[2], 'base64url'))) {
      return badJwt('Invalid JWT Signature.');
    }
    if (claims.aud !== GOOGLE_TOKEN_AUDIENCE) return badJwt('Invalid JWT: Failed audience check.');
    const now = Date.now() / 1000;
    const { iat, exp } = claims;
    if (typeof iat !== 'number' || typeof exp !== 'number' || iat > now + CLOCK_SKEW_SECONDS || exp < now || exp - iat > 3600) {
      return badJwt(
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
      );
    }
    const scopes = (claims.scope ?? '').split(' ').filter(Boolean);
    if (scopes.length === 0) return oauthError(400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    const delegated = account.scopes ?? [DRIVE_READONLY];
    if (claims.sub !== undefined && (!account.subjects.includes(claims.sub) || !scopes.every((s) => delegated.includes(s)))) {
      return oauthError(
        401,
        'unauthorized_client',
        'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
      );
    }
    return this.accessReply(scopes.join(' '));
  }
}
