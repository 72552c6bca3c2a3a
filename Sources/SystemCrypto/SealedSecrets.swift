import COpenSSLShims

/// AES-256-GCM from libcrypto: 12-byte random nonce, 16-byte tag, additional data bound in.
package enum AESGCM {
    package static let keyBytes = 32
    static let nonceBytes = 12
    static let tagBytes = 16

    /// Why a sealed value could not be opened.
    package enum OpenError: Error, Equatable, Sendable {
        /// Too short, or the tag does not match: a wrong key, wrong additional data, or tampering.
        case unauthentic
    }

    /// `nonce | ciphertext | tag`.
    package static func seal(_ plaintext: [UInt8], key: [UInt8], additionalData: [UInt8]) -> [UInt8] {
        precondition(key.count == Self.keyBytes, "AES-256-GCM needs a 32-byte key")
        let nonce = SystemCrypto.randomBytes(Self.nonceBytes)
        guard let context = EVP_CIPHER_CTX_new() else {
            preconditionFailure("EVP_CIPHER_CTX_new failed: out of memory")
        }
        defer { EVP_CIPHER_CTX_free(context) }
        var output = nonce + [UInt8](repeating: 0, count: plaintext.count + Self.tagBytes)
        // Each EVP call returns 1 on success; with a valid key and nonce length none can fail but for memory.
        let ok = key.withUnsafeBufferPointer { key in
            nonce.withUnsafeBufferPointer { nonce in
                EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, key.baseAddress, nonce.baseAddress) == 1
            }
        }
        precondition(ok, "EVP_EncryptInit_ex failed")
        var length: Int32 = 0
        if !additionalData.isEmpty {
            let aad = additionalData.withUnsafeBufferPointer {
                EVP_EncryptUpdate(context, nil, &length, $0.baseAddress, Int32($0.count)) == 1
            }
            precondition(aad, "EVP_EncryptUpdate (additional data) failed")
        }
        output.withUnsafeMutableBufferPointer { buffer in
            let out = buffer.baseAddress! + Self.nonceBytes
            var written: Int32 = 0
            if !plaintext.isEmpty {
                let encrypted = plaintext.withUnsafeBufferPointer {
                    EVP_EncryptUpdate(context, out, &written, $0.baseAddress, Int32($0.count)) == 1
                }
                precondition(encrypted && Int(written) == plaintext.count, "EVP_EncryptUpdate failed")
            }
            var final: Int32 = 0
            precondition(
                EVP_EncryptFinal_ex(context, out + Int(written), &final) == 1 && final == 0,
                "EVP_EncryptFinal_ex failed")
            let tag = out + plaintext.count
            precondition(
                EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagBytes), tag) == 1,
                "reading the GCM tag failed"
            )
        }
        return output
    }

    /// The plaintext of `nonce | ciphertext | tag`.
    /// - Throws: `OpenError.unauthentic` when it was not sealed with this key and additional data.
    package static func open(_ sealed: [UInt8], key: [UInt8], additionalData: [UInt8]) throws(OpenError) -> [UInt8] {
        precondition(key.count == Self.keyBytes, "AES-256-GCM needs a 32-byte key")
        guard sealed.count >= Self.nonceBytes + Self.tagBytes else { throw .unauthentic }
        guard let context = EVP_CIPHER_CTX_new() else {
            preconditionFailure("EVP_CIPHER_CTX_new failed: out of memory")
        }
        defer { EVP_CIPHER_CTX_free(context) }
        let cipherLength = sealed.count - Self.nonceBytes - Self.tagBytes
        var plaintext = [UInt8](repeating: 0, count: cipherLength)
        let authentic: Bool = sealed.withUnsafeBufferPointer { sealed in
            key.withUnsafeBufferPointer { key in
                guard EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, key.baseAddress, sealed.baseAddress) == 1
                else { return false }
                var length: Int32 = 0
                if !additionalData.isEmpty {
                    let aad = additionalData.withUnsafeBufferPointer {
                        EVP_DecryptUpdate(context, nil, &length, $0.baseAddress, Int32($0.count)) == 1
                    }
                    guard aad else { return false }
                }
                let cipher = sealed.baseAddress! + Self.nonceBytes
                let decrypted = plaintext.withUnsafeMutableBufferPointer { out in
                    cipherLength == 0
                        || EVP_DecryptUpdate(context, out.baseAddress, &length, cipher, Int32(cipherLength)) == 1
                }
                guard decrypted else { return false }
                let tag = UnsafeMutableRawPointer(mutating: cipher + cipherLength)
                guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagBytes), tag) == 1 else {
                    return false
                }
                var final: Int32 = 0
                // 1 when the tag verifies, 0 when it does not.
                return plaintext.withUnsafeMutableBufferPointer { out in
                    EVP_DecryptFinal_ex(context, out.baseAddress! + cipherLength, &final) == 1
                }
            }
        }
        guard authentic else { throw .unauthentic }
        return plaintext
    }
}

/// The keys secrets at rest are sealed with: the first is current (new seals use it), the others only open what
/// was sealed before a rotation. A key is 32 bytes; its id is the first 8 hex digits of its SHA-256, stored with
/// each sealed value so the right key is found.
///
/// Stored form: `enc:v1:<key id>:<hex of nonce | ciphertext | tag>`, with the value's context (a warehouse's
/// name) as GCM's additional data, so a sealed value cannot be moved to another row.
package final class SecretKeyring: Sendable {
    package struct Key: Sendable {
        package let id: String
        let bytes: [UInt8]
    }

    package let keys: [Key]
    static let prefix = "enc:v1:"

    /// Why a keyring or a sealed value could not be used.
    package enum KeyringError: Error, Equatable, Sendable, CustomStringConvertible {
        case noKeys
        case malformedKey(line: Int)
        case unknownKey(id: String)
        case unauthentic(context: String)
        case malformedValue(context: String)

        package var description: String {
            switch self {
            case .noKeys: "no secret key given"
            case .malformedKey(let number): "key \(number) is not 64 hex digits (32 bytes)"
            case .unknownKey(let id):
                "a stored secret was sealed with key \(id), which is not in the keyring; add it back (below the current key)"
            case .unauthentic(let context):
                "the stored secret of \(context) does not open with its key (wrong key, or the catalog was tampered with)"
            case .malformedValue(let context): "the stored secret of \(context) is malformed"
            }
        }
    }

    /// Keys as hex, one per line (or separated by commas), first current; blank lines and lines starting with
    /// '#' are skipped.
    /// - Throws: `.noKeys`, `.malformedKey`.
    package init(text: String) throws(KeyringError) {
        var keys: [Key] = []
        var number = 0
        for line in text.split(separator: "\n") {
            let trimmed = line.drop { $0.isWhitespace }
            if trimmed.hasPrefix("#") { continue }
            for raw in trimmed.split(separator: ",") {
                let key = raw.filter { !$0.isWhitespace }
                if key.isEmpty { continue }
                number += 1
                guard let bytes = Self.unhex(key), bytes.count == AESGCM.keyBytes else {
                    throw .malformedKey(line: number)
                }
                keys.append(Key(id: Self.id(of: bytes), bytes: bytes))
            }
        }
        guard !keys.isEmpty else { throw .noKeys }
        self.keys = keys
    }

    static func id(of bytes: [UInt8]) -> String {
        String(SystemCrypto.hex(bytes.withUnsafeBytes { SystemCrypto.sha256($0) }).prefix(8))
    }

    /// A new random key as a hex line.
    package static func generateKey() -> String { SystemCrypto.hex(SystemCrypto.randomBytes(AESGCM.keyBytes)) }

    package var currentID: String { self.keys[0].id }

    /// Seals `secret` with the current key, bound to `context`.
    package func seal(_ secret: String, context: String) -> String {
        let sealed = AESGCM.seal(Array(secret.utf8), key: self.keys[0].bytes, additionalData: Array(context.utf8))
        return Self.prefix + self.keys[0].id + ":" + SystemCrypto.hex(sealed)
    }

    /// Whether `stored` is sealed (with any key); plaintext from before sealing existed is not.
    package static func isSealed(_ stored: String) -> Bool { stored.hasPrefix(Self.prefix) }

    /// Whether `stored` is sealed with the current key.
    package func isCurrent(_ stored: String) -> Bool { stored.hasPrefix(Self.prefix + self.keys[0].id + ":") }

    /// The secret in `stored`; plaintext (stored before sealing) is returned as it is.
    /// - Throws: `.unknownKey`, `.unauthentic`, `.malformedValue`.
    package func open(_ stored: String, context: String) throws(KeyringError) -> String {
        guard Self.isSealed(stored) else { return stored }
        let parts = stored.dropFirst(Self.prefix.count).split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let sealed = Self.unhex(String(parts[1])) else {
            throw .malformedValue(context: context)
        }
        guard let key = self.keys.first(where: { $0.id == parts[0] }) else { throw .unknownKey(id: String(parts[0])) }
        do {
            return String(
                decoding: try AESGCM.open(sealed, key: key.bytes, additionalData: Array(context.utf8)), as: UTF8.self)
        } catch {
            throw .unauthentic(context: context)
        }
    }

    static func unhex(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var index = 0
        while index < digits.count {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
