import ModelCache

/// Generates the demo warehouse: `users` (100k rows by default) and `products` (1M rows, 10 columns), with
/// mixed column types, some NULLs, and a fixed seed so every machine gets the same rows.
package enum DemoData {
    package struct Sizes: Sendable {
        package var users: Int
        package var products: Int
        package init(users: Int = 100_000, products: Int = 1_000_000) {
            self.users = users
            self.products = products
        }
    }

    /// A SplitMix64 generator: tiny, fast and identical on every platform.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            self.state &+= 0x9E37_79B9_7F4A_7C15
            var z = self.state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(self.next() % UInt64(bound)) }
        mutating func unit() -> Double { Double(self.next() >> 11) / Double(1 << 53) }
    }

    static let plans = ["free", "starter", "pro", "enterprise"]
    static let countries = ["US", "GB", "DE", "FR", "IN", "BR", "JP", "CA", "AU", "ES"]
    static let firstNames = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Dennis", "Linus", "Margaret", "Tim"]
    static let lastNames = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Ritchie", "Torvalds"]
    static let categories = ["books", "garden", "kitchen", "toys", "audio", "outdoor", "office", "games"]
    static let brands = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell", "Soylent"]
    static let adjectives = ["Compact", "Deluxe", "Classic", "Smart", "Eco", "Ultra", "Mini", "Pro"]
    static let nouns = ["Lamp", "Kettle", "Speaker", "Backpack", "Chair", "Notebook", "Puzzle", "Drone", "Mug"]

    /// The SKU of product number `index` (1-based), as the demo data writes it.
    package static func sku(_ index: Int) -> String {
        let digits = String(index)
        return "SKU-" + String(repeating: "0", count: max(0, 7 - digits.count)) + digits
    }

    /// Writes the demo tables into the SQLite file at `path`, replacing them if they exist.
    /// `progress` receives (table, rows written so far).
    package static func generate(
        path: String, sizes: Sizes = Sizes(), seed: UInt64 = 42, progress: (String, Int) -> Void = { _, _ in }
    ) throws(WarehouseError) {
        let connection = try SQLiteConnection(path: path, create: true)
        try connection.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")
        try connection.execute(
            """
            DROP TABLE IF EXISTS users;
            CREATE TABLE users (
                id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL, plan TEXT NOT NULL,
                country TEXT, lifetime_value REAL NOT NULL, is_active BOOLEAN NOT NULL, age INTEGER,
                signup_at TIMESTAMP NOT NULL
            );
            DROP TABLE IF EXISTS products;
            CREATE TABLE products (
                sku TEXT PRIMARY KEY, product_id INTEGER NOT NULL, name TEXT NOT NULL, category TEXT NOT NULL,
                brand TEXT NOT NULL, price REAL NOT NULL, in_stock BOOLEAN NOT NULL, rating REAL,
                weight_grams INTEGER, created_at TIMESTAMP NOT NULL
            );
            """)
        var random = Random(state: seed)
        let base = Int64(1_600_000_000)  // 2020-09-13, so every time is in the past.

        try connection.execute("BEGIN")
        let users = try connection.prepare("INSERT INTO users VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
        for id in 1...max(sizes.users, 1) where sizes.users > 0 {
            let first = Self.firstNames[random.below(Self.firstNames.count)]
            let last = Self.lastNames[random.below(Self.lastNames.count)]
            users.bind(1, Int64(id))
            users.bind(2, "\(first.lowercased()).\(last.lowercased())\(id)@example.com")
            users.bind(3, "\(first) \(last)")
            users.bind(4, Self.plans[random.below(Self.plans.count)])
            if random.below(20) == 0 { users.bindNull(5) } else { users.bind(5, Self.countries[random.below(10)]) }
            users.bind(6, Double(random.below(1_000_000)) / 100)
            users.bind(7, Int64(random.below(5) == 0 ? 0 : 1))
            if random.below(10) == 0 { users.bindNull(8) } else { users.bind(8, Int64(18 + random.below(60))) }
            users.bind(9, Timestamp.iso8601(microseconds: (base + Int64(random.below(150_000_000))) * 1_000_000))
            _ = try users.step()
            users.reset()
            if id % 50_000 == 0 { progress("users", id) }
        }
        progress("users", sizes.users)

        let products = try connection.prepare("INSERT INTO products VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")
        for index in 1...max(sizes.products, 1) where sizes.products > 0 {
            products.bind(1, Self.sku(index))
            products.bind(2, Int64(index))
            products.bind(3, "\(Self.adjectives[random.below(8)]) \(Self.nouns[random.below(9)]) \(index % 1_000)")
            products.bind(4, Self.categories[random.below(Self.categories.count)])
            products.bind(5, Self.brands[random.below(Self.brands.count)])
            products.bind(6, Double(99 + random.below(99_900)) / 100)
            products.bind(7, Int64(random.below(4) == 0 ? 0 : 1))
            if random.below(8) == 0 {
                products.bindNull(8)
            } else {
                products.bind(8, Double(10 + random.below(41)) / 10)
            }
            if random.below(16) == 0 {
                products.bindNull(9)
            } else {
                products.bind(9, Int64(50 + random.below(20_000)))
            }
            products.bind(10, Timestamp.iso8601(microseconds: (base + Int64(random.below(150_000_000))) * 1_000_000))
            _ = try products.step()
            products.reset()
            if index % 100_000 == 0 { progress("products", index) }
        }
        try connection.execute("COMMIT")
        progress("products", sizes.products)
    }
}
