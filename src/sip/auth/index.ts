/**
 * SIP digest authentication (RFC 3261 §22, RFC 7616 / RFC 2617, RFC 8760 SHA-256): challenge parsing and answers
 * for the UAC, and the nonce-issuing, HA1-verifying server side for the registrar and challenging UASs.
 */
export {
  algorithmStrength,
  computeHa1,
  DecoyHa1,
  DIGEST_ALGORITHMS,
  digestHex,
  hashOf,
  isSessionAlgorithm,
  parseDigestAlgorithm,
  type DigestAlgorithm,
  type DigestHash,
} from './digest-algorithm';
export { parseAuthParams, quoteParam, type AuthParams } from './auth-params';
export {
  chooseQop,
  credentialsHeaderFor,
  parseDigestChallenges,
  selectStrongest,
  toDigestChallenge,
  type ChallengeHeader,
  type ChallengeSet,
  type DigestChallenge,
} from './digest-challenge';
export {
  answerChallenge,
  authorizationFor,
  computeDigestResponse,
  formatNonceCount,
  generateCnonce,
  parseDigestAuthorization,
  type AuthorizationParseError,
  type DigestAnswer,
  type DigestAnswerOptions,
  type DigestAuthorization,
  type DigestComputation,
  type DigestSecret,
} from './digest-response';
export { DigestClient, type AuthorizedRequest, type ChallengeRefusal, type ChallengeVerdict, type DigestCredentials } from './digest-client';
export {
  constantTimeEqual,
  DigestChallenger,
  type ChallengedRequest,
  type DigestChallengerOptions,
  type DigestVerifyFailure,
  type DigestVerifyResult,
  type Ha1Lookup,
} from './digest-challenger';
