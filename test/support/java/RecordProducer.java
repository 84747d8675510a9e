import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Writes records with Kafka's own Java client, as platform producers do. Producer settings come
 * as key=value arguments (compression.type, transactional.id, linger.ms, ...); records come on
 * stdin, one per line: topic TAB key-base64 TAB value-base64 TAB headers, where headers is
 * name=value-base64 pairs joined by ','; an empty key or value field is null. With
 * transactional.id set, all records go in one transaction, committed, or aborted when the
 * argument --abort is given. Prints "sent N" when every record is acknowledged.
 */
public final class RecordProducer {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    boolean abort = false;
    for (String arg : args) {
      if (arg.equals("--abort")) { abort = true; continue; }
      int eq = arg.indexOf('=');
      props.put(arg.substring(0, eq), arg.substring(eq + 1));
    }
    props.putIfAbsent("acks", "all");
    props.put("key.serializer", ByteArraySerializer.class.getName());
    props.put("value.serializer", ByteArraySerializer.class.getName());
    boolean transactional = props.containsKey("transactional.id");
    Base64.Decoder b64 = Base64.getDecoder();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      if (transactional) { producer.initTransactions(); producer.beginTransaction(); }
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null; ) {
        if (line.isEmpty()) continue;
        String[] f = line.split("\t", -1);
        byte[] key = f[1].isEmpty() ? null : b64.decode(f[1]);
        byte[] value = f[2].isEmpty() ? null : b64.decode(f[2]);
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(f[0], key, value);
        if (f.length > 3 && !f[3].isEmpty()) {
          for (String h : f[3].split(",")) {
            int eq = h.indexOf('=');
            record.headers().add(h.substring(0, eq), b64.decode(h.substring(eq + 1)));
          }
        }
        sent.add(producer.send(record));
      }
      producer.flush();
      for (Future<RecordMetadata> f : sent) f.get();
      if (transactional) { if (abort) producer.abortTransaction(); else producer.commitTransaction(); }
      System.out.println("sent " + sent.size());
    }
  }
}
