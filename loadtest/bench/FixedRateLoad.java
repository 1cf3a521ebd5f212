import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.locks.LockSupport;

/**
 * Open-loop HTTP load at a fixed rate: POSTs a JSON body to one URL over keep-alive connections and prints a JSON
 * summary with the status counts and latency percentiles.
 *
 * <p>Request {@code k} of connection {@code i} is due at {@code start + (k * connections + i) / rate}. Latency runs
 * from that due time, not from the moment the request was written, so a slow server shows up as latency instead of as
 * a lower offered rate (the correction wrk2 makes). A connection that falls behind sends at once and never skips a
 * request. Every {@code {n}} in the body template is replaced with the request's sequence number.
 *
 * <p>An optional lead-in runs the same schedule for some seconds before the measured part and records nothing, so
 * the generator's own class loading and JIT compilation do not count as the server's latency.
 *
 * <p>Run with the JDK's source launcher, or compiled, which saves the compile on every start:
 * {@code java FixedRateLoad.java URL RATE DURATION_SECONDS CONNECTIONS BODY_TEMPLATE [LEAD_IN_SECONDS]}
 */
public class FixedRateLoad {

    private static final long GRACE_NANOS = 10_000_000_000L;

    public static void main(String[] args) throws Exception {
        if (args.length != 5 && args.length != 6) {
            System.err.println("usage: java FixedRateLoad.java URL RATE DURATION_SECONDS CONNECTIONS BODY_TEMPLATE"
                    + " [LEAD_IN_SECONDS]");
            System.exit(2);
        }
        URI uri = URI.create(args[0]);
        double rate = Double.parseDouble(args[1]);
        double durationSeconds = Double.parseDouble(args[2]);
        int connections = Integer.parseInt(args[3]);
        String template = args[4];
        double leadInSeconds = args.length == 6 ? Double.parseDouble(args[5]) : 0;
        long leadIn = Math.round(rate * leadInSeconds);
        long total = leadIn + Math.round(rate * durationSeconds);
        // The schedule starts with the lead-in. The reported times are those of the measured part.
        long leadInNanos = (long) (leadIn / rate * 1e9);
        long scheduleNanos = System.nanoTime() + 200_000_000L;
        long startNanos = scheduleNanos + leadInNanos;
        long startEpochMillis = System.currentTimeMillis() + 200L + leadInNanos / 1_000_000;
        long deadlineNanos = startNanos + (long) (durationSeconds * 1e9) + GRACE_NANOS;

        List<Worker> workers = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            Worker worker =
                    new Worker(uri, template, i, connections, leadIn, total, rate, scheduleNanos, deadlineNanos);
            workers.add(worker);
            worker.start();
        }
        for (Worker worker : workers) {
            worker.join();
        }
        long endNanos = workers.stream().mapToLong(w -> w.lastDoneNanos).max().orElse(startNanos);
        printSummary(workers, total - leadIn, rate, Math.max(0, endNanos - startNanos) / 1e9, startEpochMillis);
    }

    private static void printSummary(
            List<Worker> workers, long total, double rate, double elapsedSeconds, long startEpochMillis) {
        Map<Integer, Long> statuses = new TreeMap<>();
        long errors = 0;
        int count = 0;
        for (Worker worker : workers) {
            worker.statuses.forEach((status, n) -> statuses.merge(status, n, Long::sum));
            errors += worker.errors;
            count += worker.latencyCount;
        }
        long[] latencies = new long[count];
        int offset = 0;
        for (Worker worker : workers) {
            System.arraycopy(worker.latencies, 0, latencies, offset, worker.latencyCount);
            offset += worker.latencyCount;
        }
        Arrays.sort(latencies);
        StringBuilder statusJson = new StringBuilder();
        statuses.forEach((status, n) -> statusJson
                .append(statusJson.isEmpty() ? "" : ", ")
                .append('"')
                .append(status)
                .append("\": ")
                .append(n));
        System.out.printf(
                Locale.ROOT,
                "{\"offered_rate\": %.1f, \"planned\": %d, \"completed\": %d, \"errors\": %d, \"elapsed_s\": %.3f,"
                        + " \"statuses\": {%s}, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f,"
                        + " \"start_epoch_ms\": %d}%n",
                rate,
                total,
                count,
                errors,
                elapsedSeconds,
                statusJson,
                percentileMillis(latencies, 0.50),
                percentileMillis(latencies, 0.90),
                percentileMillis(latencies, 0.99),
                percentileMillis(latencies, 1.0),
                startEpochMillis);
    }

    private static double percentileMillis(long[] sorted, double quantile) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int index = (int) Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1);
        return sorted[Math.max(0, index)] / 1e6;
    }

    /** One keep-alive connection that sends its share of the schedule and reads each response before the next. */
    private static final class Worker extends Thread {

        private final URI uri;
        private final String template;
        private final int index;
        private final int connections;
        private final long leadIn;
        private final long total;
        private final double rate;
        private final long startNanos;
        private final long deadlineNanos;
        private final Map<Integer, Long> statuses = new TreeMap<>();
        private long[] latencies = new long[1024];
        private int latencyCount;
        private long errors;
        private volatile long lastDoneNanos;
        private Socket socket;
        private InputStream in;
        private OutputStream out;

        Worker(URI uri, String template, int index, int connections, long leadIn, long total, double rate,
                long startNanos, long deadlineNanos) {
            super("load-" + index);
            this.uri = uri;
            this.template = template;
            this.index = index;
            this.connections = connections;
            this.leadIn = leadIn;
            this.total = total;
            this.rate = rate;
            this.startNanos = startNanos;
            this.deadlineNanos = deadlineNanos;
            this.lastDoneNanos = startNanos;
        }

        @Override
        public void run() {
            for (long n = index; n < total; n += connections) {
                long dueNanos = startNanos + (long) (n / rate * 1e9);
                long waitNanos = dueNanos - System.nanoTime();
                if (waitNanos > 0) {
                    LockSupport.parkNanos(waitNanos);
                }
                if (System.nanoTime() > deadlineNanos) {
                    break;
                }
                try {
                    int status = send(template.replace("{n}", Long.toString(n)));
                    long doneNanos = System.nanoTime();
                    if (n >= leadIn) {
                        statuses.merge(status, 1L, Long::sum);
                        record(doneNanos - dueNanos);
                        lastDoneNanos = doneNanos;
                    }
                } catch (IOException ex) {
                    if (n >= leadIn) {
                        errors++;
                    }
                    closeQuietly();
                }
            }
            closeQuietly();
        }

        private void record(long latencyNanos) {
            if (latencyCount == latencies.length) {
                latencies = Arrays.copyOf(latencies, latencies.length * 2);
            }
            latencies[latencyCount++] = latencyNanos;
        }

        private int send(String body) throws IOException {
            if (socket == null) {
                socket = new Socket();
                socket.setTcpNoDelay(true);
                socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 5000);
                socket.setSoTimeout(30_000);
                in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
                out = socket.getOutputStream();
            }
            byte[] bodyBytes = body.getBytes(StandardCharsets.UTF_8);
            String head = "POST " + uri.getRawPath() + " HTTP/1.1\r\nHost: " + uri.getHost() + ":" + uri.getPort()
                    + "\r\nContent-Type: application/json\r\nContent-Length: " + bodyBytes.length + "\r\n\r\n";
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(bodyBytes);
            out.flush();
            return readResponse();
        }

        /** Reads one response, with a Content-Length or a chunked body, and returns its status code. */
        private int readResponse() throws IOException {
            String statusLine = readLine();
            int status = Integer.parseInt(statusLine.split(" ", 3)[1]);
            long contentLength = 0;
            boolean chunked = false;
            boolean close = false;
            for (String line = readLine(); !line.isEmpty(); line = readLine()) {
                String lower = line.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-length:")) {
                    contentLength = Long.parseLong(lower.substring(15).trim());
                } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                    chunked = true;
                } else if (lower.startsWith("connection:") && lower.contains("close")) {
                    close = true;
                }
            }
            if (chunked) {
                for (long size = Long.parseLong(readLine().split(";")[0].trim(), 16);
                        size > 0;
                        size = Long.parseLong(readLine().split(";")[0].trim(), 16)) {
                    skip(size);
                    readLine();
                }
                while (!readLine().isEmpty()) {
                    // trailer fields, if any
                }
            } else {
                skip(contentLength);
            }
            if (close) {
                closeQuietly();
            }
            return status;
        }

        private String readLine() throws IOException {
            StringBuilder line = new StringBuilder();
            for (int c = in.read(); c != '\n'; c = in.read()) {
                if (c < 0) {
                    throw new IOException("connection closed in the middle of a response");
                }
                if (c != '\r') {
                    line.append((char) c);
                }
            }
            return line.toString();
        }

        private void skip(long count) throws IOException {
            long remaining = count;
            while (remaining > 0) {
                long skipped = in.skip(remaining);
                if (skipped <= 0) {
                    if (in.read() < 0) {
                        throw new IOException("connection closed in the middle of a response body");
                    }
                    skipped = 1;
                }
                remaining -= skipped;
            }
        }

        private void closeQuietly() {
            if (socket != null) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // the connection is dropped either way
                }
            }
            socket = null;
        }
    }
}
