/**
 * The constant answer of the registration ceilings (bench/ceiling/constant-http.ts,
 * bench/ceiling/bare-platform.ts): the shape and size of a PSK registration answer. A PSK answer
 * is a 53-byte plaintext padded to 64 bytes of AES-CBC: 88 base64 characters.
 */
export const CONSTANT_REGISTRATION_ANSWER = { Response: { Len: 53, Payload: "A".repeat(86) + "==", RequestId: "00000000-0000-4000-8000-000000000000", State: 0 } };
