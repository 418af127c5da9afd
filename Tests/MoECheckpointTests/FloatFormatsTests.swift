import Foundation
import Testing

@testable import MoECheckpoint

@Suite("float formats")
struct FloatFormatsTests {
    @Test("float32 → bfloat16 rounds to nearest even, as torch does")
    func bfloat16Rounding() {
        #expect(FloatFormats.floatToBFloat16(1.0) == 0x3F80)
        // 1 + 2^-8 is exactly halfway between two bf16 values: ties go to even (down).
        #expect(FloatFormats.floatToBFloat16(Float(bitPattern: 0x3F80_8000)) == 0x3F80)
        // 1 + 3·2^-8 is halfway too, and rounds up to the even neighbour.
        #expect(FloatFormats.floatToBFloat16(Float(bitPattern: 0x3F81_8000)) == 0x3F82)
        #expect(FloatFormats.floatToBFloat16(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(FloatFormats.floatToBFloat16(.nan) == 0x7FC0)
        #expect(FloatFormats.floatToBFloat16(.infinity) == 0x7F80)
        #expect(FloatFormats.floatToBFloat16(Float.greatestFiniteMagnitude) == 0x7F80)
        #expect(FloatFormats.floatToBFloat16(-0.0) == 0x8000)
    }

    @Test("bfloat16 → float32 → bfloat16 is the identity for every non-NaN pattern")
    func bfloat16Identity() {
        for bits in UInt16.min...UInt16.max {
            let value = FloatFormats.bfloat16ToFloat(bits)
            if value.isNaN { continue }
            #expect(FloatFormats.floatToBFloat16(value) == bits)
        }
    }

    @Test("float8_e4m3fn follows torch: 448 is the largest finite, 464 ties to 448, above becomes NaN")
    func e4m3() {
        #expect(FloatFormats.floatToE4M3FN(448) == 0x7E)
        #expect(FloatFormats.floatToE4M3FN(464) == 0x7E)
        #expect(FloatFormats.floatToE4M3FN(465) == 0x7F)
        #expect(FloatFormats.floatToE4M3FN(480) == 0x7F)
        #expect(FloatFormats.floatToE4M3FN(-.infinity) == 0xFF)
        #expect(FloatFormats.floatToE4M3FN(1.0 / 512) == 0x01)
        #expect(FloatFormats.e4m3fnToFloat(0x7E) == 448)
        #expect(FloatFormats.e4m3fnToFloat(0x7F).isNaN)
        for bits in UInt8.min...UInt8.max {
            let value = FloatFormats.e4m3fnToFloat(bits)
            if value.isNaN { continue }
            #expect(FloatFormats.floatToE4M3FN(value) == bits)
        }
    }

    @Test("float8_e5m2 follows torch: 57344 is the largest finite, 61440 rounds to infinity")
    func e5m2() {
        #expect(FloatFormats.floatToE5M2(57344) == 0x7B)
        #expect(FloatFormats.floatToE5M2(61440) == 0x7C)
        #expect(FloatFormats.floatToE5M2(.nan) == 0x7F)
        for bits in UInt8.min...UInt8.max {
            let value = FloatFormats.e5m2ToFloat(bits)
            if value.isNaN { continue }
            #expect(FloatFormats.floatToE5M2(value) == bits)
        }
    }

    @Test("float64 narrowing rounds once, not twice through float32")
    func doubleRounding() {
        // 1 + 2^-8 + 2^-30 rounds up to bf16 1+2^-7 directly, but to 1 through a float32 tie.
        let value = 1.0 + 0x1p-8 + 0x1p-30
        #expect(FloatFormats.doubleToBits(value, format: .bfloat16) == 0x3F81)
    }

    @Test("conversions match the reference library's bytes for bf16, f16 and float8")
    func matchesReferenceFile() throws {
        let file = try SafetensorsFile(path: TestSupport.projectFixtures.appendingPathComponent("safetensors-reference/mixed.safetensors").path)
        let sources: [(String, DType, [Float])] = [
            ("b.bf16", .bfloat16, [1.0, -2.0, 3.5, 0.1, 1e38, -0.0]),
            ("d.f16", .float16, [0.5, 1.0, 1.5, 65504.0]),
            ("g.e4m3", .float8_e4m3fn, [0.5, -448.0, 1.0 / 512, 3.0]),
            ("h.e5m2", .float8_e5m2, [0.5, -57344.0, Float(0x1p-16), 3.0]),
        ]
        for (name, dtype, values) in sources {
            let stored = try #require(file.tensor(named: name)).bytes()
            let converted = InMemoryTensor(floats: values, shape: [values.count], dtype: dtype).storage
            #expect(converted == stored, "\(name)")
        }
    }
}
