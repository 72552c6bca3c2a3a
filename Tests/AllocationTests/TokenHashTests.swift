import SystemCrypto
import Testing

@testable import Services

/// Tokens are stored and looked up by SHA-256 in hex (libcrypto's): the digests must be the standard ones (FIPS
/// 180-4 test vectors), or tokens stored by an earlier build (which hashed in Swift) would not match.
@Suite("Token hashes")
struct TokenHashTests {
    @Test(
        "SHA-256 hex of the FIPS 180-4 vectors",
        arguments: [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
        ])
    func vectors(text: String, digest: String) {
        #expect(TokenAuthority.hash(text) == digest)
        #expect(SystemCrypto.hex(SystemCrypto.sha256(text)) == digest)
    }
}
