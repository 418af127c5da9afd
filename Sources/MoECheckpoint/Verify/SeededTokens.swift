import Foundation

/// Reproducible random tokens for `verify`: SplitMix64 (Steele, Lea & Flood 2014) feeding a
/// Box–Muller transform, so the same `--seed` gives the same tokens on every machine.
public struct SeededTokens: Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in (0, 1].
    mutating func uniform() -> Double { (Double(next() >> 11) + 1) / 9_007_199_254_740_992 }

    /// `count` standard-normal float32 values: `tokens × D` hidden states for a layer.
    public mutating func normal(count: Int) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(count + 1)
        while out.count < count {
            let radius = (-2 * Foundation.log(uniform())).squareRoot()
            let angle = 2 * Double.pi * uniform()
            out.append(Float(radius * Foundation.cos(angle)))
            out.append(Float(radius * Foundation.sin(angle)))
        }
        return Array(out.prefix(count))
    }
}
