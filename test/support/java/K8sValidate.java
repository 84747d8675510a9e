// Validates Kubernetes objects against the models the official Java client generates from the
// Kubernetes OpenAPI spec (io.kubernetes:client-java-api): every field must be one the API
// defines (validateJsonElement rejects unknown and missing required fields, recursively), and
// every value must read as its type (integers, quantities, int-or-strings).
// Input on stdin: a JSON array of objects. Output: one line per object, "ok <kind>" or
// "invalid <kind>: <why>"; exit status 1 when any is invalid.
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonDeserializer;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.InputStreamReader;
import java.lang.reflect.InvocationTargetException;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;

public class K8sValidate {
  private static final Gson TYPED = new GsonBuilder()
      .registerTypeAdapter(OffsetDateTime.class, (JsonDeserializer<OffsetDateTime>) (j, t, c) -> OffsetDateTime.parse(j.getAsString()))
      .create();

  /** apps/v1 Deployment → io.kubernetes.client.openapi.models.V1Deployment. */
  private static String modelOf(JsonObject o) {
    String apiVersion = o.get("apiVersion").getAsString();
    String version = apiVersion.substring(apiVersion.indexOf('/') + 1);
    return "io.kubernetes.client.openapi.models." + Character.toUpperCase(version.charAt(0)) + version.substring(1) + o.get("kind").getAsString();
  }

  public static void main(String[] args) throws Exception {
    JsonElement all = JsonParser.parseReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    int invalid = 0;
    for (JsonElement e : all.getAsJsonArray()) {
      String kind = e.getAsJsonObject().get("kind").getAsString();
      try {
        Class<?> model = Class.forName(modelOf(e.getAsJsonObject()));
        model.getMethod("validateJsonElement", JsonElement.class).invoke(null, e);
        TYPED.fromJson(e, model);
        System.out.println("ok " + kind);
      } catch (InvocationTargetException x) {
        invalid++;
        System.out.println("invalid " + kind + ": " + x.getCause().getMessage());
      } catch (JsonParseException | NumberFormatException | ClassNotFoundException x) {
        invalid++;
        System.out.println("invalid " + kind + ": " + x);
      }
    }
    System.exit(invalid == 0 ? 0 : 1);
  }
}
