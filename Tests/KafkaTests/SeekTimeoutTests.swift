import Testing

@testable import Kafka

/// librdkafka before 2.0.3 waits in `rd_kafka_seek_partitions` a thousand times less than asked
/// (PR 4230): the argument is scaled for those versions only.
@Suite struct SeekTimeoutTests {
    @Test func versionsBefore2_0_3GetTheTimeoutScaledUp() {
        #expect(KafkaConsumer.seekTimeoutArgument(.seconds(5), libraryVersion: 0x0200_02FF) == 5_000_000)
        #expect(KafkaConsumer.seekTimeoutArgument(.milliseconds(250), libraryVersion: 0x0109_00FF) == 250_000)
    }

    @Test func fixedVersionsGetMilliseconds() {
        #expect(KafkaConsumer.seekTimeoutArgument(.seconds(5), libraryVersion: 0x0200_03FF) == 5_000)
        #expect(KafkaConsumer.seekTimeoutArgument(.seconds(5), libraryVersion: 0x0203_00FF) == 5_000)
    }

    @Test func theArgumentIsClampedToWhatTheCParameterHolds() {
        #expect(KafkaConsumer.seekTimeoutArgument(.seconds(3_600), libraryVersion: 0x0200_02FF) == Int32.max)
        #expect(KafkaConsumer.seekTimeoutArgument(.seconds(-1), libraryVersion: 0x0200_02FF) == 0)
    }
}
