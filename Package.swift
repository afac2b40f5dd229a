// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Tenantry",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tenantryd", targets: ["tenantryd"])
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]
        ),
        .systemLibrary(
            name: "CSQLiteConfig",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CArgon2",
            pkgConfig: "libargon2",
            providers: [.apt(["libargon2-dev"])]
        ),
        .target(
            name: "TenantryHTTP",
            dependencies: [
                "CMicroHTTPD",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TenantryCore",
            dependencies: [
                "CArgon2",
                "CCurl",
                "CSQLiteConfig",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TenantryAPI",
            dependencies: ["TenantryHTTP", "TenantryCore"]
        ),
        .executableTarget(
            name: "tenantryd",
            dependencies: [
                "TenantryAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "TenantryTesting",
            dependencies: ["TenantryAPI"],
            path: "Tests/TenantryTesting"
        ),
        .testTarget(name: "TenantryHTTPTests", dependencies: ["TenantryHTTP", "TenantryTesting"]),
        .testTarget(name: "TenantryCoreTests", dependencies: ["TenantryCore", "TenantryTesting"]),
        .testTarget(name: "TenantryAPITests", dependencies: ["TenantryAPI", "TenantryTesting"]),
    ],
    swiftLanguageModes: [.v6]
)
