// private_key_jwt with oauth4webapi, unmodified: client credentials with a
// client assertion signed by the key the test registered. Input: one JSON
// argument (issuer, client, audience, the private key as PKCS#8 PEM);
// output: one JSON line.
import * as oauth from 'oauth4webapi';
import { webcrypto } from 'node:crypto';

const input = JSON.parse(process.argv[2]);
const insecure = { [oauth.allowInsecureRequests]: true }; // the test server is http on loopback
const issuer = new URL(input.issuer);
const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
const der = Buffer.from(input.privateKeyPEM.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
const privateKey = await webcrypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
const client = { client_id: input.client };
const auth = oauth.PrivateKeyJwt(privateKey);
const first = await oauth.processClientCredentialsResponse(as, client,
  await oauth.clientCredentialsGrantRequest(as, client, auth, { audience: input.audience }, insecure));
// A second request makes a new assertion (a new jti): accepted too.
const second = await oauth.processClientCredentialsResponse(as, client,
  await oauth.clientCredentialsGrantRequest(as, client, auth, { audience: input.audience }, insecure));
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
console.log(JSON.stringify({ first: claims(first.access_token), second: claims(second.access_token) }));
