/**
 * The registrar for local SIP users (RFC 3261 §10.3): digest-authenticated REGISTER, bindings in PostgreSQL,
 * location lookup for the call layer, and the user directory (credentials stored as HA1).
 */
export { Registrar, type RegisteredContact, type RegistrarLogger, type RegistrarOptions, type RegistrarStats } from './registrar';
export { planRegister, type ContactChange, type ExpiryBounds, type RegisterPlan } from './register-plan';
export { SipUserDirectory, type NewSipUserInput } from './sip-user-directory';
export { createRegistrar, type RegistrarDeps } from './create-registrar';
