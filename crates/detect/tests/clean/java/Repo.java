package com.example.storefront;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/** Reads and writes orders through JDBC prepared statements. */
public final class Repo {
    private static final String FIND_BY_ID =
        "SELECT id, customer, total FROM orders WHERE id = ?";
    private static final String SEARCH =
        "SELECT id, customer, total FROM orders WHERE customer LIKE ? ORDER BY id LIMIT ?";
    private static final String UPDATE_TOTAL =
        "UPDATE orders SET total = ? WHERE id = ?";

    private final DataSource dataSource;

    public Repo(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    public record Order(long id, String customer, BigDecimal total) {}

    public Optional<Order> findById(long id) throws SQLException {
        try (Connection conn = dataSource.getConnection();
             PreparedStatement stmt = conn.prepareStatement(FIND_BY_ID)) {
            stmt.setLong(1, id);
            try (ResultSet rs = stmt.executeQuery()) {
                return rs.next() ? Optional.of(map(rs)) : Optional.empty();
            }
        }
    }

    public List<Order> search(String term, int limit) throws SQLException {
        List<Order> result = new ArrayList<>();
        try (Connection conn = dataSource.getConnection();
             PreparedStatement stmt = conn.prepareStatement(SEARCH)) {
            stmt.setString(1, "%" + term + "%");
            stmt.setInt(2, limit);
            try (ResultSet rs = stmt.executeQuery()) {
                while (rs.next()) {
                    result.add(map(rs));
                }
            }
        }
        return result;
    }

    public boolean updateTotal(long id, BigDecimal total) throws SQLException {
        try (Connection conn = dataSource.getConnection();
             PreparedStatement stmt = conn.prepareStatement(UPDATE_TOTAL)) {
            stmt.setBigDecimal(1, total);
            stmt.setLong(2, id);
            return stmt.executeUpdate() == 1;
        }
    }

    private static Order map(ResultSet rs) throws SQLException {
        return new Order(rs.getLong("id"), rs.getString("customer"), rs.getBigDecimal("total"));
    }
}
