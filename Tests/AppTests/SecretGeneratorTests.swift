import Testing
import TroupeCore

@Suite(.timeLimit(.minutes(5)))
struct SecretGeneratorTests {
    @Test func alphanumericSecretsUseTheWholeAlphabet() {
        let alphabet = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        for count in [0, 1, 7, 8, 9, 40] { #expect(SecretGenerator.alphanumeric(count).count == count) }
        let sample = (0..<250).map { _ in SecretGenerator.alphanumeric(40) }.joined()
        #expect(Set(sample) == alphabet, "10,000 characters cover all 62")
        #expect(Set((0..<100).map { _ in SecretGenerator.alphanumeric(40) }).count == 100)
    }

    @Test func bytesHaveTheLengthAsked() {
        for count in [0, 1, 16, 32, 33] { #expect(SecretGenerator.bytes(count).count == count) }
        #expect(SecretGenerator.bytes(32) != SecretGenerator.bytes(32))
    }
}
