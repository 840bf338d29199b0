import {expect} from 'chai'

import {terminusEnvironment} from '../../../src/terminus/terminus.js'

describe('terminusEnvironment', () => {
  it("keeps Terminus's own settings and drops S3 credentials and the vault's password and backend keys", () => {
    const env = terminusEnvironment({
      AWS_SECRET_ACCESS_KEY: 's3-secret',
      AZURE_ACCOUNT_KEY: 'azure-key',
      B2_ACCOUNT_KEY: 'b2-key',
      HOME: '/home/pbm',
      PATH: '/usr/bin',
      RESTIC_PASSWORD: 'vault-password',
      RESTIC_PASSWORD_FILE: '/etc/pbm/vault-password',
      TERMINUS_USER: 'me@example.com',
    })
    expect(env).to.deep.equal({HOME: '/home/pbm', PATH: '/usr/bin', TERMINUS_USER: 'me@example.com'})
  })
})
