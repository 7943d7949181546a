import Foundation

/// Reads how long a provider asks us to wait: `Retry-After` (seconds or an HTTP date), and OpenAI's
/// `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens` (`1s`, `6m0s`, `20ms`).
enum RetryAfter {
    static func delay(from headers: [(name: String, value: String)], now: Date = Date()) -> Duration? {
        var longest: Duration?
        for (name, value) in headers {
            let parsed: Duration?
            switch name.lowercased() {
            case "retry-after": parsed = retryAfter(value, now: now)
            case "retry-after-ms": parsed = Double(value).map { .milliseconds($0) }
            case "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens": parsed = goDuration(value)
            default: parsed = nil
            }
            if let parsed, parsed > (longest ?? .zero) { longest = parsed }
        }
        return longest
    }

    static func retryAfter(_ value: String, now: Date) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed) { return .seconds(max(0, seconds)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return .seconds(max(0, date.timeIntervalSince(now)))
    }

    /// `1h2m3.5s`, `6m0s`, `20ms`.
    static func goDuration(_ value: String) -> Duration? {
        var total = 0.0
        var number = ""
        var index = value.startIndex
        var matched = false
        while index < value.endIndex {
            let char = value[index]
            if char.isNumber || char == "." {
                number.append(char)
                index = value.index(after: index)
                continue
            }
            guard let amount = Double(number) else { return nil }
            let rest = value[index...]
            if rest.hasPrefix("ms") {
                total += amount / 1000
                index = value.index(index, offsetBy: 2)
            } else if char == "h" {
                total += amount * 3600
                index = value.index(after: index)
            } else if char == "m" {
                total += amount * 60
                index = value.index(after: index)
            } else if char == "s" {
                total += amount
                index = value.index(after: index)
            } else {
                return nil
            }
            number = ""
            matched = true
        }
        if !number.isEmpty { return nil }
        return matched ? .seconds(total) : nil
    }
}
