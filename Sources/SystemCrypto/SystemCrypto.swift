import COpenSSLShims

/// The few primitives the server needs from the system's libcrypto (already linked for TLS), so none is written
/// by hand: SHA-256 for token hashes, AES-256-GCM for secrets at rest, and the CSPRNG. The only file outside
/// RPCTransport that calls OpenSSL.
package enum SystemCrypto {
    /// Bytes of a SHA-256 digest.
    package static let sha256Bytes = 32

    /// SHA-256 of `bytes`.
    package static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Self.sha256Bytes) { digest, count in
            // SHA256 returns its output pointer; it cannot fail for in-memory input.
            _ = SHA256(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, digest.baseAddress)
            count = Self.sha256Bytes
        }
    }

    /// SHA-256 of a string's UTF-8.
    package static func sha256(_ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { Self.sha256(UnsafeRawBufferPointer($0)) }
    }

    /// Lower-case hex of `bytes`.
    package static func hex(_ bytes: some Collection<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `count` bytes from the system's CSPRNG.
    /// - Precondition: the CSPRNG works (RAND_bytes returns 1); a system without entropy is not one to run on.
    package static func randomBytes(_ count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            // 1 on success, 0 or -1 when the generator cannot be seeded.
            precondition(RAND_bytes(buffer.baseAddress, Int32(count)) == 1, "the system CSPRNG failed")
            initialized = count
        }
    }
}
