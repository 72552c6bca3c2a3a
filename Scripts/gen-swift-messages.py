#!/usr/bin/env python3
"""Generates the Swift message layer of Sources/RPCMessages from proto/ (run by Scripts/gen-protos.sh).

Input: a FileDescriptorSet with source info (`protoc --descriptor_set_out=... --include_source_info`).
Output, one Swift file per .proto plus the method table:
  - a public struct per message (fields in proto order, lowerCamelCase names, `Field` numbers, a memberwise
    init whose every argument has the proto default), a public enum per proto enum (cases without the prefix);
  - the bridge to and from protobuf-c (`ProtobufCBridged`: init(c:) and fill) and the `RPCMessage`
    conformance, so a message decodes through WireCheck + protobuf-c and encodes through protobuf-c;
  - `Methods`: one `MethodDescriptor` per rpc with its cost class, the roles allowed to call it and whether it
    is an audited write, read from the rpc's comment (`@cost inline|pool|stream`, `@roles a b c` or
    `@roles open`, `@write`). Every rpc must say its cost and roles.

Naming: snake_case words become lowerCamelCase; the words `ms`, `json` and `id` (after the first word) become
`Milliseconds`, `JSON` and `ID` (timeout_ms -> timeoutMilliseconds, row_json -> rowJSON, token_id -> tokenID).
A field whose comment says `@swift-type T` is read as `T(rawValue:)` and written as `.rawValue` (Status.code is
a `StatusCode`); a repeated `MetadataEntry` field is a `Metadata`.

Usage: gen-swift-messages.py DESCRIPTOR_SET OUTPUT_DIR
"""
import os
import re
import sys

from google.protobuf import descriptor_pb2

FD = descriptor_pb2.FieldDescriptorProto
SCALARS = {
    FD.TYPE_STRING: ("String", '""'),
    FD.TYPE_BYTES: ("[UInt8]", "[]"),
    FD.TYPE_BOOL: ("Bool", "false"),
    FD.TYPE_UINT32: ("UInt32", "0"),
    FD.TYPE_UINT64: ("UInt64", "0"),
    FD.TYPE_INT32: ("Int32", "0"),
    FD.TYPE_SINT32: ("Int32", "0"),
    FD.TYPE_INT64: ("Int64", "0"),
    FD.TYPE_SINT64: ("Int64", "0"),
    FD.TYPE_DOUBLE: ("Double", "0"),
    FD.TYPE_FLOAT: ("Float", "0"),
    FD.TYPE_FIXED32: ("UInt32", "0"),
    FD.TYPE_FIXED64: ("UInt64", "0"),
    FD.TYPE_SFIXED32: ("Int32", "0"),
    FD.TYPE_SFIXED64: ("Int64", "0"),
}
NUMERIC = {t for t in SCALARS if t not in (FD.TYPE_STRING, FD.TYPE_BYTES, FD.TYPE_BOOL)}
WORDS = {"ms": "Milliseconds", "json": "JSON", "id": "ID"}
KEYWORDS = {"default", "class", "struct", "enum", "protocol", "func", "var", "let", "in", "is", "as", "self", "Self",
            "return", "repeat", "while", "for", "if", "else", "switch", "case", "import", "init", "operator", "extension",
            "internal", "public", "private", "static", "where", "throws", "try", "catch", "do", "break", "continue", "nil"}
COSTS = {"inline", "pool", "stream"}


def camel(name, first_lower=True):
    words = name.split("_")
    out = []
    for index, word in enumerate(words):
        if index == 0 and first_lower:
            out.append(word.lower())
        else:
            out.append(WORDS.get(word.lower(), word[:1].upper() + word[1:].lower()))
    return "".join(out)


def c_lower(name):
    """protoc-c's CamelCase to lower_case: an underscore before every capital but the first."""
    out = ""
    for index, char in enumerate(name):
        if char.isupper() and index > 0:
            out += "_"
        out += char.lower()
    return out


def swift_ident(name):
    return f"`{name}`" if name in KEYWORDS else name


class Comments:
    def __init__(self, file):
        self.leading = {}
        self.trailing = {}
        for location in file.source_code_info.location:
            path = tuple(location.path)
            if location.leading_comments:
                self.leading[path] = location.leading_comments
            if location.trailing_comments:
                self.trailing[path] = location.trailing_comments

    def text(self, path):
        parts = [self.leading.get(path, ""), self.trailing.get(path, "")]
        return "\n".join(p.strip("\n") for p in parts if p.strip())

    def doc(self, path, indent):
        """The comment as /// lines, without annotation lines."""
        lines = []
        for line in self.text(path).split("\n"):
            line = line.rstrip()
            if line.startswith(" "):
                line = line[1:]
            if re.match(r"^\s*@", line):
                continue
            lines.append(line)
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        return "".join(f"{indent}///{(' ' + l) if l else ''}\n" for l in lines)

    def annotations(self, path):
        found = {}
        for match in re.finditer(r"@([a-z-]+)((?:[ \t]+[A-Za-z0-9_.]+)*)", self.text(path)):
            found[match.group(1)] = match.group(2).split()
        return found


class Generator:
    def __init__(self, files):
        self.files = files
        self.messages = {}  # full name -> (file, DescriptorProto)
        self.enums = {}  # full name -> EnumDescriptorProto
        for file in files:
            for message in file.message_type:
                self.messages[f".{file.package}.{message.name}"] = (file, message)
            for enum in file.enum_type:
                self.enums[f".{file.package}.{enum.name}"] = enum

    @staticmethod
    def c_type(full_name):
        parts = full_name.lstrip(".").split(".")
        return "__".join(p[:1].upper() + p[1:] for p in parts[:-1]) + "__" + parts[-1]

    @staticmethod
    def c_function(full_name):
        parts = full_name.lstrip(".").split(".")
        return "__".join(parts[:-1]) + "__" + c_lower(parts[-1])

    @staticmethod
    def short(full_name):
        return full_name.split(".")[-1]

    def enum_cases(self, enum):
        prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
        cases = []
        for value in enum.value:
            name = value.name[len(prefix):] if value.name.startswith(prefix) else value.name
            case = camel(name.lower())
            if case[:1].isdigit():
                case = "_" + case
            cases.append((swift_ident(case), value.number, value))
        return cases

    def field_info(self, message_name, field, comments, path):
        """(swift name, swift type, default, kind) for a field."""
        repeated = field.label == FD.LABEL_REPEATED
        notes = comments.annotations(path)
        name = swift_ident(camel(field.name))
        if "swift-type" in notes:
            swift_type = notes["swift-type"][0]
            assert not repeated and field.type in NUMERIC, f"{message_name}.{field.name}: @swift-type needs a scalar number"
            return name, swift_type, None, ("raw", swift_type)
        if field.type == FD.TYPE_MESSAGE:
            target = self.short(field.type_name)
            if repeated and field.type_name.endswith(".MetadataEntry"):
                return name, "Metadata", "Metadata()", ("metadata",)
            if repeated:
                return name, f"[{target}]", "[]", ("messages", target)
            return name, f"{target}?", "nil", ("message", target)
        if field.type == FD.TYPE_ENUM:
            target = self.short(field.type_name)
            zero = self.enum_cases(self.enums[field.type_name])[0][0]
            if repeated:
                return name, f"[{target}]", "[]", ("enums", target, self.c_type(field.type_name), zero)
            return name, target, f".{zero}", ("enum", target, self.c_type(field.type_name), zero)
        swift_type, default = SCALARS[field.type]
        if repeated:
            kind = {FD.TYPE_STRING: "strings", FD.TYPE_BYTES: "bytesArray", FD.TYPE_BOOL: "booleans"}.get(field.type, "scalars")
            return name, f"[{swift_type}]", "[]", (kind,)
        kind = {FD.TYPE_STRING: "string", FD.TYPE_BYTES: "bytes", FD.TYPE_BOOL: "bool"}.get(field.type, "scalar")
        return name, swift_type, default, (kind,)

    # MARK: files

    def message_file(self, file):
        comments = Comments(file)
        out = [f"// Generated by Scripts/gen-protos.sh from proto/{file.name}. Do not edit.\n",
               "// swift-format-ignore-file\n\nimport CProtos\npublic import RPCCore\n"]
        for index, enum in enumerate(file.enum_type):
            out.append("\n" + self.enum_decl(enum, comments, (5, index)))
        for index, message in enumerate(file.message_type):
            out.append("\n" + self.message_decl(file, message, comments, (4, index)))
        for index, message in enumerate(file.message_type):
            out.append("\n" + self.bridge(file, message, comments, (4, index)))
        return "".join(out)

    def enum_decl(self, enum, comments, path):
        out = comments.doc(path, "")
        out += f"public enum {enum.name}: UInt32, Sendable, Hashable, CaseIterable {{\n"
        for index, (case, number, _) in enumerate(self.enum_cases(enum)):
            out += comments.doc(path + (2, index), "    ")
            out += f"    case {case} = {number}\n"
        return out + "}\n"

    def message_decl(self, file, message, comments, path):
        full = f".{file.package}.{message.name}"
        out = comments.doc(path, "")
        out += f"public struct {message.name}: Sendable, Hashable {{\n"
        infos = [self.field_info(message.name, f, comments, path + (2, i)) for i, f in enumerate(message.field)]
        for index, (field, info) in enumerate(zip(message.field, infos)):
            out += comments.doc(path + (2, index), "    ")
            out += f"    public var {info[0]}: {info[1]}\n"
        if infos:
            out += "\n"
        # Field numbers, for the hand-tuned writers (RPCMessages/ProtobufWriters.swift) and their tests.
        out += f"    /// Field numbers of `{full.lstrip('.')}`.\n    public enum Field {{\n"
        for field, info in zip(message.field, infos):
            out += f"        public static let {info[0]} = {field.number}\n"
        out += "        /// Every field: its proto name and number.\n"
        out += "        public static let all: [(name: String, number: Int)] = [" + ", ".join(
            f'("{f.name}", {f.number})' for f in message.field) + "]\n"
        out += "    }\n\n"
        params = ", ".join(f"{i[0].strip('`')}: {i[1]}" + (f" = {i[2]}" if i[2] is not None else "") for i in infos)
        if len(params) > 80:
            params = "\n        " + ",\n        ".join(
                f"{i[0].strip('`')}: {i[1]}" + (f" = {i[2]}" if i[2] is not None else "") for i in infos) + "\n    "
        out += f"    public init({params}) {{\n"
        for info in infos:
            out += f"        self.{info[0]} = {info[0]}\n"
        out += "    }\n}\n"
        return out

    def bridge(self, file, message, comments, path):
        full = f".{file.package}.{message.name}"
        c_type = self.c_type(full)
        c_fn = self.c_function(full)
        infos = [self.field_info(message.name, f, comments, path + (2, i)) for i, f in enumerate(message.field)]
        out = f"extension {message.name}: ProtobufCBridged, RPCMessage {{\n"
        out += f"    static let protoName = \"{full.lstrip('.')}\"\n"
        out += "    static var generatedFields: [(name: String, number: Int)] { Field.all }\n"
        out += f"    static func cInit(_ m: UnsafeMutablePointer<{c_type}>) {{ {c_fn}__init(m) }}\n"
        out += (f"    static func cUnpack(_ a: UnsafeMutablePointer<ProtobufCAllocator>?, _ n: Int, _ d: UnsafePointer<UInt8>)"
                f" -> UnsafeMutablePointer<{c_type}>? {{\n        {c_fn}__unpack(a, n, d)\n    }}\n\n")
        if infos:
            out += f"    init(c m: UnsafePointer<{c_type}>) {{\n        let c = m.pointee\n        self.init(\n"
            args = []
            for field, info in zip(message.field, infos):
                args.append(f"            {info[0].strip('`')}: {self.read(field.name, info[3])}")
            out += ",\n".join(args) + "\n        )\n    }\n\n"
        else:
            out += f"    init(c m: UnsafePointer<{c_type}>) {{ self.init() }}\n\n"
        out += f"    func fill(_ m: UnsafeMutablePointer<{c_type}>, _ arena: CArena) {{\n"
        for field, info in zip(message.field, infos):
            out += self.fill(field.name, info[0], info[3])
        if not infos:
            out += "        _ = (m, arena)\n"
        out += "    }\n}\n"
        return out

    @staticmethod
    def read(c, kind):
        k = kind[0]
        if k == "string":
            return f"readString(c.{c})"
        if k == "bytes":
            return f"readBytes(c.{c})"
        if k == "bool":
            return f"c.{c} != 0"
        if k == "scalar":
            return f"c.{c}"
        if k == "raw":
            return f"{kind[1]}(rawValue: c.{c})"
        if k == "enum":
            return f"{kind[1]}(rawValue: enumNumber(c.{c})) ?? .{kind[3]}"
        if k == "message":
            return f"c.{c}.map {{ {kind[1]}(c: $0) }}"
        if k == "metadata":
            return f"readMetadata(c.n_{c}, c.{c})"
        if k == "messages":
            return f"readMessages(c.n_{c}, c.{c}, as: {kind[1]}.self)"
        if k == "enums":
            return f"readScalars(c.n_{c}, c.{c}).map {{ {kind[1]}(rawValue: enumNumber($0)) ?? .{kind[3]} }}"
        if k == "strings":
            return f"readStrings(c.n_{c}, c.{c})"
        if k == "booleans":
            return f"readBooleans(c.n_{c}, c.{c})"
        if k == "bytesArray":
            return f"readBytesArray(c.n_{c}, c.{c})"
        if k == "scalars":
            return f"readScalars(c.n_{c}, c.{c})"
        raise ValueError(kind)

    @staticmethod
    def fill(c, swift, kind):
        k = kind[0]
        s = f"self.{swift}"
        if k == "string":
            return f"        m.pointee.{c} = arena.string({s})\n"
        if k == "bytes":
            return f"        m.pointee.{c} = arena.bytes({s})\n"
        if k == "bool":
            return f"        m.pointee.{c} = {s} ? 1 : 0\n"
        if k == "scalar":
            return f"        m.pointee.{c} = {s}\n"
        if k == "raw":
            return f"        m.pointee.{c} = {s}.rawValue\n"
        if k == "enum":
            return f"        m.pointee.{c} = cEnum({s}.rawValue, as: {kind[2]}.self)\n"
        if k == "message":
            return f"        m.pointee.{c} = {s}.map {{ arena.message($0) }}\n"
        count = f"        m.pointee.n_{c} = {s}.{'entries.' if k == 'metadata' else ''}count\n"
        if k == "metadata":
            return count + f"        m.pointee.{c} = arena.metadata({s})\n"
        if k == "messages":
            return count + f"        m.pointee.{c} = arena.messages({s})\n"
        if k == "enums":
            return count + f"        m.pointee.{c} = arena.scalars({s}.map {{ cEnum($0.rawValue, as: {kind[2]}.self) }})\n"
        if k == "strings":
            return count + f"        m.pointee.{c} = arena.strings({s})\n"
        if k == "booleans":
            return count + f"        m.pointee.{c} = arena.booleans({s})\n"
        if k == "bytesArray":
            return count + f"        m.pointee.{c} = arena.bytesArray({s})\n"
        if k == "scalars":
            return count + f"        m.pointee.{c} = arena.scalars({s})\n"
        raise ValueError(kind)

    def methods_file(self):
        out = ["// Generated by Scripts/gen-protos.sh from the services in proto/. Do not edit.\n",
               "// swift-format-ignore-file\n\npublic import RPCCore\n\n",
               "/// Every method the server serves, with the policy its proto comment declares: cost class, the roles\n",
               "/// allowed to call it (nil: anyone, without a token) and whether it is an audited write.\n",
               "public enum Methods {\n"]
        names = []
        for file in self.files:
            comments = Comments(file)
            for s_index, service in enumerate(file.service):
                for m_index, method in enumerate(service.method):
                    path = (6, s_index, 2, m_index)
                    notes = comments.annotations(path)
                    where = f"{file.package}.{service.name}/{method.name}"
                    cost = (notes.get("cost") or [None])[0]
                    if cost not in COSTS:
                        sys.exit(f"{where}: its comment must say @cost inline, pool or stream")
                    if (cost == "stream") != method.server_streaming:
                        sys.exit(f"{where}: @cost stream is for server-streaming rpcs, and they need it")
                    if "roles" not in notes or not notes["roles"]:
                        sys.exit(f"{where}: its comment must say @roles ROLE... or @roles open")
                    roles = notes["roles"]
                    roles_swift = "nil" if roles == ["open"] else "[" + ", ".join(f'"{r}"' for r in roles) + "]"
                    write = "true" if "write" in notes else "false"
                    if "write" in notes and cost != "pool":
                        sys.exit(f"{where}: writes run on the pool (@cost pool)")
                    name = method.name[:1].lower() + method.name[1:]
                    if service.name == "Health" and method.name == "Check":
                        name = "healthCheck"
                    names.append(name)
                    out.append(comments.doc(path, "    "))
                    out.append(
                        f"    public static let {name} = MethodDescriptor(\n"
                        f"        service: \"{file.package}.{service.name}\", method: \"{method.name}\", cost: .{cost},\n"
                        f"        roles: {roles_swift}, isWrite: {write},\n"
                        f"        request: \"{method.input_type.lstrip('.')}\", response: \"{method.output_type.lstrip('.')}\"\n"
                        f"    )\n")
        out.append("\n    /// Every method, in proto order.\n    public static let all: [MethodDescriptor] = [\n")
        out.append("".join(f"        {n},\n" for n in names))
        out.append("    ]\n}\n")
        out.append("\n/// Every message type, for the tests that hold the generated code to protobuf-c's descriptors.\n")
        out.append("let allMessageTypes: [any ProtobufCBridged.Type] = [\n")
        for file in self.files:
            out.append("".join(f"    {m.name}.self,\n" for m in file.message_type))
        out.append("]\n")
        return "".join(out)


def main():
    descriptor_set, output = sys.argv[1], sys.argv[2]
    files = descriptor_pb2.FileDescriptorSet()
    with open(descriptor_set, "rb") as handle:
        files.ParseFromString(handle.read())
    ours = [f for f in files.file if f.package == "enrich.v1"]
    ours.sort(key=lambda f: f.name)
    generator = Generator(ours)
    os.makedirs(output, exist_ok=True)
    for file in ours:
        base = os.path.basename(file.name).replace(".proto", "")
        with open(os.path.join(output, f"{base.capitalize()}.pb.swift"), "w") as handle:
            handle.write(generator.message_file(file))
    with open(os.path.join(output, "Methods.pb.swift"), "w") as handle:
        handle.write(generator.methods_file())


if __name__ == "__main__":
    main()
