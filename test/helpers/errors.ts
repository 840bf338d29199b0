import {expect} from 'chai'

import {PbmError} from '../../src/errors.js'

/** The PbmError a promise that must fail rejects with, to assert on its code, message and hint. */
export async function failure(p: Promise<unknown>): Promise<PbmError> {
  try {
    await p
  } catch (error) {
    expect(error).to.be.instanceOf(PbmError)
    return error as PbmError
  }

  expect.fail('expected a failure')
}
