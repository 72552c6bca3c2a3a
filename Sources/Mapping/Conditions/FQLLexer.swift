/// A token of Segment's subscription language, as fql-ts produces them.
struct FQLToken: Equatable, Sendable {
    enum Kind: String, Sendable {
        case ident, string, number, `operator`, conditional, null, dot, brackLeft, brackRight, comma
        case parenLeft, parenRight, eos
    }

    var kind: Kind
    var value: String
    /// Offset (in Unicode scalars) where the token starts, for error messages.
    var offset: Int
}

/// A lexer error: fql-ts's message and the offset where it happened.
struct FQLLexerError: Error, Equatable {
    var message: String
    var offset: Int
}

/// A faithful port of fql-ts's lexer (1.10.1), quirks included: keywords and two-character operators only
/// count when a terminator follows, strings have no escapes and keep their quotes, identifiers take
/// backslash escapes. See shared/specs/segment-languages.md, A.1.
struct FQLLexer {
    private let scalars: [Unicode.Scalar]
    private var position = 0

    init(_ code: String) { self.scalars = Array(code.unicodeScalars) }

    /// The tokens, ending with EOS; any error makes the whole lex fail, as in fql-ts.
    static func lex(_ code: String) -> Result<[FQLToken], FQLLexerError> {
        var lexer = FQLLexer(code)
        do throws(FQLLexerError) {
            return .success(try lexer.lex())
        } catch {
            return .failure(error)
        }
    }

    // MARK: - Character classes (fql-ts strings.ts, with the backslash escape of 1.10)

    static func isWhitespace(_ c: Unicode.Scalar?) -> Bool { c == " " || c == "\t" || c == "\n" }
    static func isAlpha(_ c: Unicode.Scalar?) -> Bool {
        guard let c else { return false }
        return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z")
    }
    static func isNumber(_ c: Unicode.Scalar?) -> Bool {
        guard let c else { return false }
        return c >= "0" && c <= "9"
    }
    static func isIdent(_ c: Unicode.Scalar?) -> Bool {
        Self.isAlpha(c) || Self.isNumber(c) || c == "_" || c == "-" || c == "\\"
    }
    /// End of input, whitespace, ',', ']' or ')'.
    static func isTerminator(_ c: Unicode.Scalar?) -> Bool {
        c == nil || Self.isWhitespace(c) || c == "," || c == "]" || c == ")"
    }

    // MARK: - Reader

    /// The next character, or nil at the end (where the position stays put, as fql-ts's reader does).
    private mutating func next() -> Unicode.Scalar? {
        guard self.position < self.scalars.count else { return nil }
        defer { self.position += 1 }
        return self.scalars[self.position]
    }

    private func peek() -> Unicode.Scalar? {
        self.position < self.scalars.count ? self.scalars[self.position] : nil
    }

    private mutating func backup(_ count: Int) { self.position = max(0, self.position - count) }

    /// Consumes `text` when it is next and followed by a terminator; otherwise rolls back. Quirk kept from
    /// fql-ts: hitting the end of input part-way returns false without rolling back.
    private mutating func accept(_ text: String) -> Bool {
        var consumed: [Unicode.Scalar] = []
        for _ in text.unicodeScalars {
            guard let c = self.next() else { return false }
            consumed.append(c)
            if Self.isTerminator(c) { break }
        }
        if String(String.UnicodeScalarView(consumed)) == text && Self.isTerminator(self.peek()) { return true }
        self.backup(consumed.count)
        return false
    }

    private func error(_ message: String) -> FQLLexerError { FQLLexerError(message: message, offset: self.position) }

    // MARK: - Lexing

    mutating func lex() throws(FQLLexerError) -> [FQLToken] {
        var tokens: [FQLToken] = []
        while true {
            let start = self.position
            guard let c = self.next() else {
                tokens.append(FQLToken(kind: .eos, value: "eos", offset: start))
                return tokens
            }
            if Self.isWhitespace(c) { continue }
            if c == "!" {
                let following = self.peek()
                if Self.isAlpha(following) || following == "(" {
                    tokens.append(FQLToken(kind: .operator, value: "!", offset: start))
                    continue
                }
            }
            if Self.isAlpha(c) || c == "!" || c == "=" || c == ">" || c == "<" || c == "_" || c == "\\" {
                var token = try self.lexOperatorOrConditional(c)
                token.offset = start
                tokens.append(token)
                continue
            }
            if Self.isNumber(c) || c == "-" || c == "+" {
                tokens.append(FQLToken(kind: .number, value: try self.lexNumber(c), offset: start))
                continue
            }
            if c == "\"" || c == "'" {
                tokens.append(FQLToken(kind: .string, value: try self.lexString(c), offset: start))
                continue
            }
            let simple: FQLToken.Kind? =
                switch c {
                case ".": .dot
                case "[": .brackLeft
                case "]": .brackRight
                case ",": .comma
                case "(": .parenLeft
                case ")": .parenRight
                default: nil
                }
            guard let simple else {
                throw FQLLexerError(message: "invalid character \"\(Character(c))\"", offset: start)
            }
            tokens.append(FQLToken(kind: simple, value: String(Character(c)), offset: start))
        }
    }

    private mutating func lexString(_ quote: Unicode.Scalar) throws(FQLLexerError) -> String {
        var text = ""
        while self.peek() != quote {
            guard let c = self.next() else { throw self.error("unterminated string") }
            text.unicodeScalars.append(c)
        }
        // The closing quote is eaten only when a terminator follows it; otherwise it starts a new string.
        _ = self.accept(String(Character(quote)))
        return String(Character(quote)) + text + String(Character(quote))
    }

    private mutating func lexNumber(_ first: Unicode.Scalar) throws(FQLLexerError) -> String {
        var text = String(Character(first))
        var isDecimal = false
        var comingUp = self.peek()
        while Self.isNumber(comingUp) || comingUp == "." {
            let c = self.next()!  // peek() saw a character.
            text.unicodeScalars.append(c)
            if comingUp == "." {
                if Self.isTerminator(self.peek()) { throw self.error("unexpected terminator after decimal point") }
                if isDecimal { throw self.error("multiple decimal points in one number") }
                isDecimal = true
            }
            comingUp = self.peek()
        }
        return text
    }

    private mutating func lexOperatorOrConditional(_ first: Unicode.Scalar) throws(FQLLexerError) -> FQLToken {
        switch first {
        case "=":
            return FQLToken(kind: .operator, value: "=", offset: 0)
        case "!":
            if self.accept("=") { return FQLToken(kind: .operator, value: "!=", offset: 0) }
            // As in Segment's lexer, '!=' counts only when a space (or the end, ',', ']' or ')') follows it.
            if self.peek() == "=" {
                self.position += 1
                let after = self.peek().map { "'\(Character($0))'" } ?? "the end"
                throw self.error("'!=' must be followed by a space, got \(after) (write `!= \"x\"`, not `!=\"x\"`)")
            }
            throw self.error(
                "expected '=' after '!', got '\(self.peek().map { String(Character($0)) } ?? "end of input")'")
        case "a":
            if self.accept("nd") { return FQLToken(kind: .conditional, value: "and", offset: 0) }
        case "o":
            if self.accept("r") { return FQLToken(kind: .conditional, value: "or", offset: 0) }
        case "n":
            if self.accept("ull") { return FQLToken(kind: .null, value: "null", offset: 0) }
        case "<", ">":
            let op = String(Character(first))
            return FQLToken(kind: .operator, value: self.accept("=") ? op + "=" : op, offset: 0)
        default:
            break
        }
        return FQLToken(kind: .ident, value: try self.lexIdent(first), offset: 0)
    }

    private mutating func lexIdent(_ first: Unicode.Scalar) throws(FQLLexerError) -> String {
        var text = ""
        if first == "\\" {
            guard let escaped = self.next() else {
                throw self.error("expected character after escape character, got EOS")
            }
            text.unicodeScalars.append(escaped)
        } else {
            text.unicodeScalars.append(first)
        }
        while Self.isIdent(self.peek()) {
            var c = self.next()!  // peek() saw a character.
            if c == "\\" {
                guard let escaped = self.next() else {
                    throw self.error("expected character after escape character, got EOS")
                }
                c = escaped
            }
            text.unicodeScalars.append(c)
        }
        let comingUp = self.peek()
        guard Self.isTerminator(comingUp) || comingUp == "." || comingUp == "(" || comingUp == "=" || comingUp == "!"
        else {
            throw self.error("expected termination character after identifier, got \(String(Character(comingUp!)))")
        }
        return text
    }
}
