/// Postal addresses: a house number with a street word in the ways Europe and North America write them ("221B
/// Baker Street", "Hauptstraße 5", "12 rue de Rivoli", "Via Roma 10"), then what follows it on the line (a unit,
/// a postcode, a town, a state and ZIP); and postcodes whose shape is certain on their own (UK, Dutch), or with
/// a town after them.
enum Addresses {
    /// Street words written after the street's name, English style ("Baker Street").
    static let streetTypes: Set<String> = [
        "street", "st", "road", "rd", "avenue", "ave", "av", "lane", "ln", "drive", "dr", "boulevard", "blvd", "way",
        "court", "ct", "place", "pl", "terrace", "close", "crescent", "square", "sq", "highway", "hwy", "parkway",
        "pkwy", "row", "gardens", "walk", "hill", "circle", "cir", "trail", "mews", "grove", "park", "broadway",
    ]
    /// Endings of one-word street names ("Hauptstraße", "Kerkstraat", "Storgatan").
    static let streetEndings = [
        "straße", "strasse", "str", "weg", "gasse", "platz", "allee", "damm", "ufer", "laan", "straat",
        "gracht", "plein", "dreef", "kade", "singel", "steeg", "vej", "gade", "gatan", "gata", "vägen", "veien",
        "katu", "utca", "ulica",
    ]
    /// Street words written before the street's name ("rue de Rivoli", "Via Roma").
    static let streetPrefixes: Set<String> = [
        "rue", "avenue", "boulevard", "bd", "chemin", "impasse", "allée", "place", "quai", "cours", "via", "viale",
        "piazza", "corso", "vicolo", "calle", "avenida", "avda", "plaza", "paseo", "carrer", "rua", "travessa",
        "largo", "praça", "ul", "ulica", "al", "aleja", "plac", "strada", "bulevar",
    ]
    /// Words that introduce a unit after the street.
    static let units: Set<String> = ["apt", "apartment", "suite", "ste", "unit", "flat", "floor", "fl", "room",
                                     "wohnung", "etage", "bus", "bte", "piso", "puerta", "interno", "int"]

    static func find(in scanner: inout Scanner) {
        let bytes = scanner.bytes
        var index = 0
        while index < bytes.count {
            defer { index += 1 }
            guard !scanner.isWordByte(index - 1), !scanner.isTaken(index) else { continue }
            if let end = streetEnd(in: scanner, from: index) {
                let full = tailEnd(in: scanner, after: end)
                scanner.take(index, full, .address)
                index = full
            } else if let end = postcodeEnd(in: scanner, from: index, alone: true) {
                scanner.take(index, end, .address)
                index = end
            }
        }
    }

    /// A house number: 1–5 digits, a letter or a `-`/`/` range after it ("221B", "12-14", "5a").
    static func houseNumberEnd(in scanner: Scanner, from start: Int) -> Int? {
        var end = start
        while scanner[end].isDigit, end - start < 5 { end += 1 }
        guard end > start, !scanner[end].isDigit else { return nil }
        if (scanner[end] == 0x2D || scanner[end] == 0x2F), scanner[end + 1].isDigit {
            end += 1
            while scanner[end].isDigit { end += 1 }
        }
        if scanner[end].isLetter, !scanner.isWordByte(end + 1) { end += 1 }
        return scanner.isWordByte(end) ? nil : end
    }

    /// The end of a street with its number starting at `start`, in any of the shapes, or `nil`.
    static func streetEnd(in scanner: Scanner, from start: Int) -> Int? {
        if scanner[start].isDigit, let number = houseNumberEnd(in: scanner, from: start) {
            // "221B Baker Street", "1600 Pennsylvania Avenue NW"; "12 rue de la Paix".
            guard scanner[number] == 0x20 || scanner[number] == 0x2C else { return nil }
            var cursor = number
            var words = 0
            if let first = scanner.nextWord(after: cursor + (scanner[number] == 0x2C ? 1 : 0)),
               streetPrefixes.contains(first.lowered.trimmingDot) {
                return nameEnd(in: scanner, after: first.end, maximum: 5)
            }
            while words < 4, let word = scanner.nextWord(after: cursor), word.start <= cursor + 2 {
                words += 1
                cursor = word.end
                if streetTypes.contains(word.lowered) {
                    guard words > 1 else { return nil }
                    if scanner[cursor] == 0x2E { cursor += 1 }
                    // A compass point after the street ("Avenue NW").
                    if let point = scanner.nextWord(after: cursor), point.start == cursor + 1,
                       ["n", "s", "e", "w", "ne", "nw", "se", "sw"].contains(point.lowered) { cursor = point.end }
                    return cursor
                }
                if let ending = streetEndings.first(where: { word.lowered.hasSuffix($0) }),
                   word.lowered.count > ending.count + 1, word.capitalized {
                    // "5 Hauptstraße" (a number first, as some write it).
                    return words == 1 ? cursor : nil
                }
                // A street's name is capitalised ("Baker"): "3 items on the street" is no address.
                guard word.capitalized else { return nil }
            }
            return nil
        }
        // The shapes below start with a capital ("Hauptstraße 5", "Via Roma 10") or "ul."/"al.".
        let byte = scanner[start]
        guard byte.isUpper || byte >= 0xC0 || ((byte == 0x75 || byte == 0x61) && scanner[start + 1] == 0x6C),
              let first = scanner.word(at: start) else { return nil }
        // "Hauptstraße 5", "Kerkstraat 12a", "Storgatan 3".
        if first.capitalized, let ending = streetEndings.first(where: { first.lowered.hasSuffix($0) }),
           first.lowered.count > ending.count + 1 {
            var cursor = first.end
            if scanner[cursor] == 0x2E { cursor += 1 }
            guard scanner[cursor] == 0x20, let number = houseNumberEnd(in: scanner, from: cursor + 1) else {
                return nil
            }
            return number
        }
        // "Via Roma 10", "Calle Mayor 3", "ul. Marszałkowska 10", "rue de Rivoli 12" (a number after the name).
        if streetPrefixes.contains(first.lowered), first.capitalized || ["ul", "al"].contains(first.lowered) {
            var cursor = first.end
            if scanner[cursor] == 0x2E { cursor += 1 }
            var words = 0
            while words < 4, let word = scanner.nextWord(after: cursor), word.start == cursor + 1 {
                cursor = word.end
                words += 1
                if scanner[cursor] == 0x20 || scanner[cursor] == 0x2C,
                   let number = houseNumberEnd(in: scanner, from: cursor + (scanner[cursor] == 0x2C ? 2 : 1)),
                   scanner[cursor + 1].isDigit || scanner[cursor + 2].isDigit {
                    return number
                }
            }
        }
        return nil
    }

    /// After "12 rue": the street's name, up to `maximum` words, to the end of the clause.
    private static func nameEnd(in scanner: Scanner, after index: Int, maximum: Int) -> Int? {
        var cursor = index
        var words = 0
        var named = false
        while words < maximum, let word = scanner.nextWord(after: cursor), word.start == cursor + 1,
              word.capitalized || Names.particles.contains(word.lowered) || ["des", "les", "della", "dei", "do", "d'"].contains(word.lowered) {
            cursor = word.end
            words += 1
            named = named || word.capitalized
        }
        return named ? cursor : nil
    }

    /// What follows a street on its line: a unit, a town, a postcode, a state and ZIP, separated by commas or
    /// spaces. Stops at the first part that is none of those.
    static func tailEnd(in scanner: Scanner, after street: Int) -> Int {
        var end = street
        var parts = 0
        while parts < 5 {
            var cursor = end
            if scanner[cursor] == 0x2C { cursor += 1 }
            guard scanner[cursor] == 0x20 else { break }
            cursor += 1
            if let postcode = postcodeEnd(in: scanner, from: cursor, alone: false) {
                end = postcode
            } else if let word = scanner.word(at: cursor), units.contains(word.lowered.trimmingDot) || scanner[cursor] == 0x23 {
                var unit = word.end
                if scanner[unit] == 0x2E { unit += 1 }
                if scanner[unit] == 0x20 { unit += 1 }
                let start = unit
                while scanner[unit].isAlphanumeric { unit += 1 }
                guard unit > start else { break }
                end = unit
            } else if scanner[cursor] == 0x23, scanner[cursor + 1].isDigit {
                var unit = cursor + 1
                while scanner[unit].isAlphanumeric { unit += 1 }
                end = unit
            } else if let town = townEnd(in: scanner, from: cursor) {
                end = town
            } else {
                break
            }
            parts += 1
        }
        return end
    }

    /// A town: one to three capitalised words, followed by a comma and a state or a postcode, or ending the
    /// address (a comma, a full stop, the line's end).
    private static func townEnd(in scanner: Scanner, from start: Int) -> Int? {
        guard let first = scanner.word(at: start), first.capitalized, !Names.notNames.contains(first.lowered)
        else { return nil }
        var end = first.end
        var words = 1
        while words < 3, scanner[end] == 0x20, ukPostcodeEnd(in: scanner, from: end + 1) == nil,
              let next = scanner.word(at: end + 1), next.capitalized, !Names.notNames.contains(next.lowered) {
            end = next.end
            words += 1
        }
        // "Springfield, IL 62704": a state's two capitals and a ZIP.
        if scanner[end] == 0x2C, scanner[end + 1] == 0x20, scanner[end + 2].isUpper, scanner[end + 3].isUpper,
           scanner[end + 4] == 0x20, let zip = zipEnd(in: scanner, from: end + 5) {
            return zip
        }
        let after = scanner[end]
        guard after == 0x2C || after == 0x2E || after == 0x0A || after == 0x0D || after == 0 || after == 0x20
        else { return nil }
        return end
    }

    /// A US ZIP code (`62704`, `62704-1234`).
    private static func zipEnd(in scanner: Scanner, from start: Int) -> Int? {
        var end = start
        while scanner[end].isDigit { end += 1 }
        guard end - start == 5 else { return nil }
        if scanner[end] == 0x2D, (1...4).allSatisfy({ scanner[end + $0].isDigit }) { end += 5 }
        return scanner.isWordByte(end) ? nil : end
    }

    /// A postcode at `start`, with the town after it when there is one. Alone (not after a street), only the shapes
    /// that are certain: a UK postcode, a Dutch one (`1012 AB`), or a number of four or five digits after a comma
    /// with a capitalised town after it.
    static func postcodeEnd(in scanner: Scanner, from start: Int, alone: Bool) -> Int? {
        if let end = ukPostcodeEnd(in: scanner, from: start) { return end }
        guard scanner[start].isDigit else { return nil }
        var digits = start
        while scanner[digits].isDigit { digits += 1 }
        let count = digits - start
        var end = digits
        // Dutch: four digits, two capitals.
        if count == 4, scanner[digits] == 0x20, scanner[digits + 1].isUpper, scanner[digits + 2].isUpper,
           !scanner.isWordByte(digits + 3) {
            end = digits + 3
            return withTown(in: scanner, after: end) ?? end
        }
        // Polish dd-ddd, Portuguese dddd-ddd.
        if (count == 2 || count == 4), scanner[digits] == 0x2D, (1...3).allSatisfy({ scanner[digits + $0].isDigit }),
           !scanner.isWordByte(digits + 4) {
            end = digits + 4
            guard !alone || precededByComma(scanner, start) else { return nil }
            return withTown(in: scanner, after: end) ?? (alone ? nil : end)
        }
        guard count == 4 || count == 5, !scanner.isWordByte(digits) else { return nil }
        if alone && !precededByComma(scanner, start) { return nil }
        return withTown(in: scanner, after: end) ?? (alone ? nil : end)
    }

    private static func precededByComma(_ scanner: Scanner, _ start: Int) -> Bool {
        var cursor = start - 1
        while scanner[cursor] == 0x20 { cursor -= 1 }
        return scanner[cursor] == 0x2C || scanner[cursor] == 0x0A || (scanner[cursor] == 0 && cursor < 0)
    }

    /// The end of a capitalised town after a postcode ("10115 Berlin", "75001 Paris").
    private static func withTown(in scanner: Scanner, after end: Int) -> Int? {
        guard scanner[end] == 0x20, let town = scanner.word(at: end + 1), town.capitalized,
              !Names.notNames.contains(town.lowered) else { return nil }
        var stop = town.end
        while scanner[stop] == 0x20 || scanner[stop] == 0x2D, let next = scanner.word(at: stop + 1), next.capitalized {
            stop = next.end
        }
        return stop
    }

    /// A UK postcode: outward code (A9, A99, AA9, AA99, A9A, AA9A), a space or none, inward code (9AA), capitals.
    static func ukPostcodeEnd(in scanner: Scanner, from start: Int) -> Int? {
        guard scanner[start].isUpper else { return nil }
        for outward in ["LD", "LDD", "LLD", "LLDD", "LDL", "LLDL"] {
            let shape = Array(outward.utf8)
            guard shape.enumerated().allSatisfy({ offset, kind in
                kind == 0x4C ? scanner[start + offset].isUpper : scanner[start + offset].isDigit
            }) else { continue }
            var cursor = start + shape.count
            if scanner[cursor] == 0x20 { cursor += 1 }
            if scanner[cursor].isDigit, scanner[cursor + 1].isUpper, scanner[cursor + 2].isUpper,
               !scanner.isWordByte(cursor + 3) {
                return cursor + 3
            }
        }
        return nil
    }
}

extension String {
    /// The string without one trailing full stop ("str." → "str").
    var trimmingDot: String { hasSuffix(".") ? String(dropLast()) : self }
}
