package io.loadlevel.producer.admin;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Requires {@code Authorization: Bearer <loadlevel.admin.token>} on every request under {@code /admin}. The token is
 * compared in constant time, and with no token configured the admin endpoints are off.
 */
@Component
class AdminAuthenticationFilter extends OncePerRequestFilter {

    static final String ADMIN_PATH = "/admin/";
    private static final String BEARER = "Bearer ";

    private final AdminProperties properties;

    AdminAuthenticationFilter(AdminProperties properties) {
        this.properties = properties;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        return !request.getRequestURI().startsWith(ADMIN_PATH);
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (!properties.enabled()) {
            reject(
                    response,
                    HttpServletResponse.SC_FORBIDDEN,
                    "Forbidden",
                    "the admin endpoints are off; set loadlevel.admin.token to turn them on");
            return;
        }
        String authorization = request.getHeader(HttpHeaders.AUTHORIZATION);
        if (authorization == null
                || !authorization.startsWith(BEARER)
                || !matches(authorization.substring(BEARER.length()))) {
            response.setHeader(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"loadlevel-admin\"");
            reject(
                    response,
                    HttpServletResponse.SC_UNAUTHORIZED,
                    "Unauthorized",
                    authorization == null
                            ? "the Authorization header is missing; send Authorization: Bearer <loadlevel.admin.token>"
                            : "the bearer token is invalid; send the value of loadlevel.admin.token");
            return;
        }
        chain.doFilter(request, response);
    }

    private boolean matches(String presented) {
        return MessageDigest.isEqual(
                presented.getBytes(StandardCharsets.UTF_8), properties.token().getBytes(StandardCharsets.UTF_8));
    }

    private static void reject(HttpServletResponse response, int status, String title, String detail)
            throws IOException {
        response.setStatus(status);
        response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        response.getWriter()
                .write("{\"type\":\"urn:loadlevel:problem:admin-authentication\",\"title\":\"" + title
                        + "\",\"status\":" + status + ",\"detail\":\"" + detail + "\"}");
    }
}
