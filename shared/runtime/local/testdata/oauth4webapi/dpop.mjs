// DPoP interop with oauth4webapi, unmodified: the code exchange, a refresh
// switching the audience (MRRT) and client credentials, each with a DPoP
// proof of one key pair. Input: one JSON argument; output: one JSON line.
import * as oauth from 'oauth4webapi';

const input = JSON.parse(process.argv[2]);
const insecure = { [oauth.allowInsecureRequests]: true }; // the test server is http on loopback
const issuer = new URL(input.issuer);
const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
const keyPair = await oauth.generateKeyPair('ES256');

// withNonce runs a request and its processing, retrying once when the
// server asks for a DPoP nonce (RFC 9449 §8); the DPoP handle keeps the nonce.
async function withNonce(request, process) {
  try {
    return await process(await request());
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err;
    return await process(await request());
  }
}

const spa = { client_id: input.spaClient };
const spaDPoP = oauth.DPoP(spa, keyPair);
const params = oauth.validateAuthResponse(as, spa, new URL(input.callbackURL), input.state);
const code = await withNonce(
  () => oauth.authorizationCodeGrantRequest(as, spa, oauth.None(), params, input.redirectURI, input.verifier, { DPoP: spaDPoP, ...insecure }),
  (res) => oauth.processAuthorizationCodeResponse(as, spa, res),
);
const refreshed = await withNonce(
  () => oauth.refreshTokenGrantRequest(as, spa, oauth.None(), code.refresh_token, {
    DPoP: spaDPoP, additionalParameters: { audience: input.otherAudience }, ...insecure,
  }),
  (res) => oauth.processRefreshTokenResponse(as, spa, res),
);

const m2m = { client_id: input.m2mClient };
const m2mDPoP = oauth.DPoP(m2m, keyPair); // one handle: it keeps the server's nonce
const cc = await withNonce(
  () => oauth.clientCredentialsGrantRequest(as, m2m, oauth.ClientSecretPost(input.m2mSecret), { audience: input.audience }, {
    DPoP: m2mDPoP, ...insecure,
  }),
  (res) => oauth.processClientCredentialsResponse(as, m2m, res),
);

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
const view = (r) => ({ token_type: r.token_type, scope: r.scope, claims: claims(r.access_token), refresh_token: r.refresh_token || '' });
console.log(JSON.stringify({ code: view(code), refreshed: view(refreshed), client_credentials: view(cc) }));
