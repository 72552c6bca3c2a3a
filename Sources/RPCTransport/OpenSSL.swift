import COpenSSLShims
import NIOCore

// The only file in RPCTransport that calls OpenSSL. `TLSContext` owns an SSL_CTX; `SSLConnection` owns one SSL
// object and the two memory BIOs it reads from and writes to, so TLS never touches a file descriptor.

/// Where PEM data comes from.
public enum PEMSource: Sendable, Hashable {
    case file(String)
    case string(String)
}

/// What a TLS endpoint presents and trusts.
public struct TLSConfiguration: Sendable, Hashable {
    public enum Role: Sendable, Hashable {
        /// A server presents a certificate chain and its key.
        case server(certificateChain: PEMSource, privateKey: PEMSource)
        /// A client verifies the server against `trustRoots` (the system's roots when nil) and, when
        /// `serverName` is set, checks the certificate names it (a DNS name or an IP address).
        case client(trustRoots: PEMSource?, serverName: String?)
    }

    public var role: Role
    /// Server only: require every client to present a certificate signed by these roots (mutual TLS).
    public var clientTrustRoots: PEMSource?
    /// Client only: the certificate and key to present to a server that asks for one.
    public var clientCertificate: (chain: PEMSource, key: PEMSource)?

    public static func server(
        certificateChain: PEMSource, privateKey: PEMSource, requiringClientCertificatesFrom roots: PEMSource? = nil
    ) -> TLSConfiguration {
        TLSConfiguration(
            role: .server(certificateChain: certificateChain, privateKey: privateKey), clientTrustRoots: roots)
    }

    public static func client(
        trustRoots: PEMSource?, serverName: String?, certificate: (chain: PEMSource, key: PEMSource)? = nil
    ) -> TLSConfiguration {
        TLSConfiguration(role: .client(trustRoots: trustRoots, serverName: serverName), clientCertificate: certificate)
    }

    public static func == (lhs: TLSConfiguration, rhs: TLSConfiguration) -> Bool {
        lhs.role == rhs.role && lhs.clientTrustRoots == rhs.clientTrustRoots
            && lhs.clientCertificate?.chain == rhs.clientCertificate?.chain
            && lhs.clientCertificate?.key == rhs.clientCertificate?.key
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.role)
        hasher.combine(self.clientTrustRoots)
    }
}

/// TLS failures, carrying OpenSSL's own error text.
public enum TLSError: Error, Equatable, CustomStringConvertible {
    /// The context could not be built: a missing or unreadable certificate, key or CA file.
    case configuration(String)
    /// The handshake failed: a plaintext peer, an untrusted certificate, a protocol version below TLS 1.2.
    case handshakeFailed(String)
    /// A TLS record could not be read or written after the handshake.
    case protocolError(String)
    /// The peer closed the connection before the handshake finished.
    case closedDuringHandshake
    /// The handshake did not finish in time.
    case handshakeTimeout

    public var description: String {
        switch self {
        case .configuration(let reason): "TLS configuration: \(reason)"
        case .handshakeFailed(let reason): "TLS handshake failed: \(reason)"
        case .protocolError(let reason): "TLS error: \(reason)"
        case .closedDuringHandshake: "TLS: connection closed during the handshake"
        case .handshakeTimeout: "TLS: handshake timed out"
        }
    }
}

/// Drains OpenSSL's thread-local error queue into one line, so no stale error leaks into a later call.
private func drainErrorQueue(fallback: String) -> String {
    var reasons: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        let text = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer in
            ERR_error_string_n(code, buffer.baseAddress, buffer.count)
            return String(cString: buffer.baseAddress!)  // ERR_error_string_n always NUL-terminates.
        }
        reasons.append(text)
    }
    return reasons.isEmpty ? fallback : reasons.joined(separator: "; ")
}

/// An SSL_CTX, configured once and shared by every connection of an endpoint.
public final class TLSContext: @unchecked Sendable {
    // SSL_CTX is safe to share between threads once configured; nothing mutates it after init.
    private let context: OpaquePointer
    let isServer: Bool
    let serverName: String?

    /// Builds the context: TLS 1.2 minimum, certificate and key loaded and checked (server), or peer
    /// verification against the trust roots (client).
    /// - Throws: `TLSError.configuration` naming the file or PEM that could not be used.
    public init(configuration: TLSConfiguration) throws(TLSError) {
        ERR_clear_error()
        let isServer: Bool
        if case .server = configuration.role { isServer = true } else { isServer = false }
        guard let context = SSL_CTX_new(isServer ? TLS_server_method() : TLS_client_method()) else {
            throw .configuration(drainErrorQueue(fallback: "SSL_CTX_new failed"))
        }
        self.context = context
        self.isServer = isServer
        // SSL_CTX_set_min_proto_version returns 1 on success, 0 for an unknown version.
        guard COpenSSLShims_SSL_CTX_set_min_proto_version(context, COpenSSLShims_TLS1_2_VERSION()) == 1 else {
            preconditionFailure("OpenSSL rejected TLS 1.2 as a minimum version")
        }
        // Release idle read/write buffers: a server holding thousands of quiet connections saves ~34 KiB each.
        _ = COpenSSLShims_SSL_CTX_set_mode(context, Int(SSL_MODE_RELEASE_BUFFERS))
        switch configuration.role {
        case .server(let chain, let key):
            self.serverName = nil
            try Self.useCertificate(chain, context: context)
            try Self.usePrivateKey(key, context: context)
            // 1 when the key matches the certificate, 0 otherwise.
            guard SSL_CTX_check_private_key(context) == 1 else {
                throw .configuration(drainErrorQueue(fallback: "private key does not match the certificate"))
            }
            if let roots = configuration.clientTrustRoots {
                // Mutual TLS: a client without a certificate signed by these roots fails the handshake.
                try Self.trust(roots, context: context)
                SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
            }
        case .client(let roots, let serverName):
            self.serverName = serverName
            try Self.trust(roots, context: context)
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            if let certificate = configuration.clientCertificate {
                try Self.useCertificate(certificate.chain, context: context)
                try Self.usePrivateKey(certificate.key, context: context)
                guard SSL_CTX_check_private_key(context) == 1 else {
                    throw .configuration(drainErrorQueue(fallback: "client key does not match the client certificate"))
                }
            }
        }
    }

    deinit {
        SSL_CTX_free(self.context)
    }

    private static func readCertificates(_ pem: String) throws(TLSError) -> [OpaquePointer] {
        var certificates: [OpaquePointer] = []
        let bytes = Array(pem.utf8)
        let bio = bytes.withUnsafeBytes { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
        guard let bio else { throw .configuration("cannot read PEM") }
        defer { BIO_free(bio) }
        while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) { certificates.append(certificate) }
        ERR_clear_error()  // The loop ends on a "no start line" error, which is expected.
        guard !certificates.isEmpty else { throw .configuration("no certificate found in PEM data") }
        return certificates
    }

    private static func useCertificate(_ source: PEMSource, context: OpaquePointer) throws(TLSError) {
        switch source {
        case .file(let path):
            // Returns 1 on success; 0 when the file is missing, unreadable or not PEM.
            guard SSL_CTX_use_certificate_chain_file(context, path) == 1 else {
                throw .configuration("certificate chain '\(path)': \(drainErrorQueue(fallback: "unreadable"))")
            }
        case .string(let pem):
            let certificates = try readCertificates(pem)
            defer { certificates.forEach { X509_free($0) } }
            guard SSL_CTX_use_certificate(context, certificates[0]) == 1 else {
                throw .configuration(drainErrorQueue(fallback: "certificate rejected"))
            }
        }
    }

    private static func usePrivateKey(_ source: PEMSource, context: OpaquePointer) throws(TLSError) {
        switch source {
        case .file(let path):
            guard SSL_CTX_use_PrivateKey_file(context, path, SSL_FILETYPE_PEM) == 1 else {
                throw .configuration("private key '\(path)': \(drainErrorQueue(fallback: "unreadable"))")
            }
        case .string(let pem):
            let bytes = Array(pem.utf8)
            let bio = bytes.withUnsafeBytes { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
            guard let bio else { throw .configuration("cannot read PEM") }
            defer { BIO_free(bio) }
            guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
                throw .configuration("private key: \(drainErrorQueue(fallback: "not a PEM private key"))")
            }
            defer { EVP_PKEY_free(key) }
            guard SSL_CTX_use_PrivateKey(context, key) == 1 else {
                throw .configuration(drainErrorQueue(fallback: "private key rejected"))
            }
        }
    }

    private static func trust(_ source: PEMSource?, context: OpaquePointer) throws(TLSError) {
        switch source {
        case nil:
            // 1 on success, 0 when the default locations cannot be read.
            guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                throw .configuration(drainErrorQueue(fallback: "cannot load the system trust roots"))
            }
        case .file(let path):
            guard SSL_CTX_load_verify_locations(context, path, nil) == 1 else {
                throw .configuration("CA file '\(path)': \(drainErrorQueue(fallback: "unreadable"))")
            }
        case .string(let pem):
            let store = SSL_CTX_get_cert_store(context)
            for certificate in try readCertificates(pem) {
                defer { X509_free(certificate) }
                guard X509_STORE_add_cert(store, certificate) == 1 else {
                    throw .configuration(drainErrorQueue(fallback: "CA certificate rejected"))
                }
            }
        }
    }

    func makeConnection() throws(TLSError) -> SSLConnection {
        try SSLConnection(context: self.context, isServer: self.isServer, serverName: self.serverName)
    }
}

/// One TLS session driven through memory BIOs: ciphertext in with `consume`, out with `drainCiphertext`.
final class SSLConnection {
    enum StepResult: Equatable {
        case complete
        case wantRead
        case closed
        case failed(TLSError)
    }

    private let ssl: OpaquePointer
    private let networkToSSL: OpaquePointer
    private let sslToNetwork: OpaquePointer
    private static let readChunkBytes = 16_384

    init(context: OpaquePointer, isServer: Bool, serverName: String?) throws(TLSError) {
        guard let ssl = SSL_new(context),
            let inbound = BIO_new(BIO_s_mem()),
            let outbound = BIO_new(BIO_s_mem())
        else { throw .configuration(drainErrorQueue(fallback: "SSL_new failed")) }
        self.ssl = ssl
        self.networkToSSL = inbound
        self.sslToNetwork = outbound
        _ = COpenSSLShims_BIO_set_mem_eof_return(inbound, -1)
        _ = COpenSSLShims_BIO_set_mem_eof_return(outbound, -1)
        SSL_set_bio(ssl, inbound, outbound)  // The SSL object now owns both BIOs.
        if isServer {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if let serverName {
                let isAddress = serverName.contains(":") || serverName.allSatisfy { $0.isNumber || $0 == "." }
                if isAddress {
                    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName)
                } else {
                    _ = COpenSSLShims_SSL_set_tlsext_host_name(ssl, serverName)
                    SSL_set1_host(ssl, serverName)
                }
            }
        }
    }

    deinit {
        SSL_free(self.ssl)
    }

    /// Hands ciphertext from the network to OpenSSL.
    func consume(_ buffer: inout ByteBuffer) {
        while buffer.readableBytes > 0 {
            let written = buffer.withUnsafeReadableBytes {
                BIO_write(self.networkToSSL, $0.baseAddress, Int32($0.count))
            }
            // A memory BIO accepts everything unless allocation fails.
            precondition(written > 0, "BIO_write to a memory BIO failed")
            buffer.moveReaderIndex(forwardBy: Int(written))
        }
    }

    var hasCiphertext: Bool { COpenSSLShims_BIO_pending(self.sslToNetwork) > 0 }

    /// Moves every pending ciphertext byte into `buffer`.
    func drainCiphertext(into buffer: inout ByteBuffer) {
        while true {
            let pending = Int(COpenSSLShims_BIO_pending(self.sslToNetwork))
            if pending == 0 { return }
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { pointer in
                Int(max(0, BIO_read(self.sslToNetwork, pointer.baseAddress, Int32(pending))))
            }
        }
    }

    private func classify(_ result: Int32, operation: String) -> StepResult {
        // SSL_get_error must be asked right after the call, with the error queue as that call left it.
        switch SSL_get_error(self.ssl, result) {
        case SSL_ERROR_NONE: return .complete
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wantRead
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            // With memory BIOs there is no syscall; this means an unexpected EOF from the peer.
            return .failed(.protocolError(drainErrorQueue(fallback: "unexpected EOF during \(operation)")))
        default:
            let verify = SSL_get_verify_result(self.ssl)
            var reason = drainErrorQueue(fallback: "\(operation) failed")
            if verify != X509_V_OK {
                reason += " (certificate: \(String(cString: X509_verify_cert_error_string(verify))))"
            }
            return .failed(.handshakeFailed(reason))
        }
    }

    func doHandshake() -> StepResult {
        ERR_clear_error()
        return self.classify(SSL_do_handshake(self.ssl), operation: "handshake")
    }

    /// Decrypts what it can into `buffer`; `.wantRead` once the inbound BIO is empty.
    func readPlaintext(into buffer: inout ByteBuffer) -> StepResult {
        while true {
            ERR_clear_error()
            var result: Int32 = 0
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.readChunkBytes) { pointer in
                result = SSL_read(self.ssl, pointer.baseAddress, Int32(pointer.count))
                return Int(max(result, 0))
            }
            if result > 0 { continue }
            switch self.classify(result, operation: "read") {
            case .complete: continue
            case .failed(.handshakeFailed(let reason)): return .failed(.protocolError(reason))
            case let other: return other
            }
        }
    }

    /// Encrypts all of `buffer`. Memory BIOs never block, so SSL_write takes every byte or fails.
    func writePlaintext(_ buffer: ByteBuffer) -> StepResult {
        var buffer = buffer
        while buffer.readableBytes > 0 {
            ERR_clear_error()
            let written = buffer.withUnsafeReadableBytes { SSL_write(self.ssl, $0.baseAddress, Int32($0.count)) }
            guard written > 0 else {
                switch self.classify(written, operation: "write") {
                case .failed(.handshakeFailed(let reason)): return .failed(.protocolError(reason))
                case let other: return other == .complete ? .failed(.protocolError("SSL_write wrote nothing")) : other
                }
            }
            buffer.moveReaderIndex(forwardBy: Int(written))
        }
        return .complete
    }

    /// Queues a close_notify alert (one direction; the peer's reply is not awaited).
    func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(self.ssl)
        ERR_clear_error()
    }

    /// The negotiated protocol ("TLSv1.3").
    var negotiatedVersion: String { String(cString: SSL_get_version(self.ssl)) }
}

/// Makes certificates in memory, for tests and development: a CA, or a leaf signed by one.
public enum CertificateFactory {
    public struct Issued: Sendable {
        public let certificatePEM: String
        public let privateKeyPEM: String
    }

    /// Makes a certificate with a fresh P-256 key.
    /// - Parameters:
    ///   - commonName: the subject CN.
    ///   - subjectAltName: an IP address or DNS name for subjectAltName, or nil.
    ///   - isCA: whether the certificate may sign others.
    ///   - issuer: the signer, or nil for self-signed.
    ///   - validSeconds: lifetime from now.
    /// - Throws: `TLSError.configuration` with OpenSSL's reason.
    public static func make(
        commonName: String, subjectAltName: String?, isCA: Bool, issuer: Issued?, validSeconds: Int = 86_400
    ) throws(TLSError) -> Issued {
        ERR_clear_error()
        var certificate: UnsafeMutablePointer<CChar>? = nil
        var key: UnsafeMutablePointer<CChar>? = nil
        let ok = COpenSSLShims_make_certificate(
            commonName, subjectAltName, isCA ? 1 : 0, validSeconds, issuer?.certificatePEM, issuer?.privateKeyPEM,
            &certificate, &key
        )
        defer {
            if let certificate { CRYPTO_free(certificate, #file, #line) }
            if let key { CRYPTO_free(key, #file, #line) }
        }
        guard ok == 1, let certificate, let key else {
            throw .configuration(drainErrorQueue(fallback: "certificate generation failed"))
        }
        return Issued(certificatePEM: String(cString: certificate), privateKeyPEM: String(cString: key))
    }
}
