// node-oidc-provider (npm oidc-provider) as an independent upstream for
// TestNodeOIDCProviderUpstream: one confidential client (the downstream
// Sesame), dev interactions (any login name, any password), accounts
// made up from the login name. Configured by PORT, CLIENT_ID,
// CLIENT_SECRET and REDIRECT_URI.
import Provider from 'oidc-provider';

const { PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI } = process.env;
const provider = new Provider(`http://127.0.0.1:${PORT}`, {
  clients: [{
    client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code'], response_types: ['code'],
  }],
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: `${id}@node.test`, email_verified: true, name: `Node ${id}`, preferred_username: id }),
  }),
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['federation-test-cookie-key-0123456789'] },
});
provider.listen(Number(PORT), '127.0.0.1', () => console.log('listening'));
