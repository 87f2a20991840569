// A real OpenID Connect provider for the tests (panva/node-oidc-provider), standing in for the province's
// 统一身份认证 / 电子营业执照 login. Configured from the environment by tests/web/portal/test_oidc.py:
//   PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, ACCOUNTS (JSON: sub -> claims, e.g. {"name", "uscc"})
// Its development interactions (a login form taking any password, a consent form) are what the test drives.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const accounts = JSON.parse(process.env.ACCOUNTS || '{}');
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: { openid: ['sub'], profile: ['name'], phone: ['phone_number', 'phone_number_verified'], uscc: ['uscc'] },
  scopes: ['openid', 'profile', 'phone', 'uscc'],
  async findAccount(ctx, id) {
    if (!accounts[id]) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...accounts[id] }; } };
  },
  conformIdTokenClaims: false, // the claims asked for by scope are put in the ID token (the RP reads them there)
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['onelicense-test-provider'] },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log('ready'));
