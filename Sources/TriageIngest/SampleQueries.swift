import Foundation
import TriageCore

/// Generates varied, realistic customer-support queries across the built-in taxonomy, reproducibly for a seed.
public enum SampleQueries {
    private struct Template {
        var subject: String
        var text: String
    }

    private static let templates: [Template] = [
        // billing
        .init(subject: "Charged twice this month", text: "Hi, I was charged twice for my {plan} plan this month ({amount}). Can you refund the duplicate charge? Invoice {invoice}."),
        .init(subject: "Invoice question", text: "Could you send me a copy of invoice {invoice}? Our accounting team needs it with the VAT number included."),
        .init(subject: "Price went up", text: "My subscription fee went from {amount} to a higher price without any notice. Why was I billed more?"),
        .init(subject: "Factura incorrecta", text: "Hola, la factura {invoice} tiene un importe incorrecto. Por favor, ¿pueden revisarla?"),
        // payments
        .init(subject: "Card declined", text: "My card keeps getting declined at checkout even though the bank says everything is fine. Order {order} is stuck."),
        .init(subject: "PayPal payment failed", text: "I tried to pay with PayPal three times and the payment failed every time. Is there a problem on your side?"),
        .init(subject: "Paiement refusé", text: "Bonjour, mon paiement par carte est refusé pour la commande {order}. Je ne comprends pas pourquoi."),
        // account access
        .init(subject: "Can't log in", text: "I can't log in to my account. The password reset email never arrives and I've tried {count} times."),
        .init(subject: "Account hacked!!", text: "Someone hacked my account and changed my email address. There are orders I did not place. Please lock it immediately!"),
        .init(subject: "2FA code not working", text: "The two-factor verification code from the app is always rejected. I'm locked out of my account."),
        .init(subject: "Passwort vergessen", text: "Hallo, ich kann mich nicht anmelden. Das Passwort wird nicht akzeptiert und ich bekomme keine E-Mail."),
        // orders & shipping
        .init(subject: "Where is my order?", text: "Order {order} was supposed to arrive {days} days ago and the tracking hasn't updated since. Where is my parcel?"),
        .init(subject: "Wrong delivery address", text: "I entered the wrong delivery address for order {order}. Can you change it to {city} before it ships?"),
        .init(subject: "Package marked delivered", text: "The courier marked my package as delivered but nothing arrived. Order {order}."),
        .init(subject: "¿Dónde está mi pedido?", text: "Hola, mi pedido {order} no ha llegado y ya pasaron {days} días. ¿Pueden darme el número de seguimiento?"),
        .init(subject: "Lieferung verspätet", text: "Meine Bestellung {order} ist immer noch nicht da. Die Lieferung sollte vor {days} Tagen kommen."),
        // returns & refunds
        .init(subject: "Refund not received", text: "I returned the {product} {days} days ago and still haven't received my refund of {amount}."),
        .init(subject: "Return request", text: "The {product} I received is the wrong size. How do I return it for an exchange?"),
        .init(subject: "Demande de remboursement", text: "Je voudrais un remboursement pour le {product}, il est arrivé cassé."),
        // technical
        .init(subject: "App crashes on start", text: "Since the last update the app crashes every time I open it on my {device}. I've reinstalled it twice."),
        .init(subject: "Sync not working", text: "Data is not syncing between my {device} and the web dashboard. It shows an error 500 every time."),
        .init(subject: "Everything is down?", text: "Your whole service seems to be down for our team, we get an outage page everywhere. This is urgent, we can't work."),
        .init(subject: "API returns errors", text: "Our integration gets intermittent errors from your API since this morning. Request ids attached."),
        // product questions
        .init(subject: "Is it compatible?", text: "Is the {product} compatible with {device}? I want to buy one but I'm not sure."),
        .init(subject: "How do I export data?", text: "How do I export all my data to a spreadsheet? I couldn't find the feature in settings."),
        .init(subject: "Feature question", text: "Just wondering whether you plan to add support for dark mode. Would be nice!"),
        // feedback & complaints
        .init(subject: "Great support", text: "Thank you so much to {name} from your team, the help I got yesterday was excellent. Really appreciate it!"),
        .init(subject: "Very disappointed", text: "This is the worst customer service I have ever experienced. Nobody answers and your agent was rude. Terrible."),
        .init(subject: "Suggestion", text: "Small suggestion: it would be great if the order page showed the estimated delivery date."),
        // cancellation
        .init(subject: "Cancel my subscription", text: "Please cancel my {plan} subscription at the end of this billing period. I no longer need it."),
        .init(subject: "Close my account", text: "I want to close my account and delete all my data. How do I do that?"),
        .init(subject: "Cancelar pedido", text: "Quiero cancelar el pedido {order}, lo compré por error."),
        // other
        .init(subject: "Job application", text: "Hello, do you have any open positions in your {city} office? I'd love to join the team."),
        .init(subject: "Partnership", text: "We're a small agency interested in a partnership. Who should we talk to?"),
    ]

    private static let plans = ["Basic", "Pro", "Team", "Business", "Premium"]
    private static let products = ["wireless headphones", "running shoes", "coffee grinder", "desk lamp", "backpack",
                                   "smart watch", "winter jacket", "phone case"]
    private static let devices = ["iPhone 15", "Pixel 8", "Galaxy S23", "iPad", "Windows laptop", "MacBook"]
    private static let cities = ["Berlin", "Madrid", "Lyon", "Austin", "Toronto", "Leeds"]
    private static let names = ["Maria", "Sam", "Aiko", "Jonas", "Priya", "Tom"]
    private static let channels = ["email", "chat", "web", "phone"]
    private static let openers = ["", "", "", "Hello, ", "Hi team, ", "Good morning. "]
    private static let closers = ["", "", "", " Thanks.", " Thanks in advance!", " Regards, {name}", " This is the second time I'm writing."]

    /// `count` queries; the same `seed` always gives the same queries, with `externalId`s `sample-SEED-N`.
    public static func generate(count: Int, seed: UInt64 = 1, now: Date = Date()) -> [SupportQuery] {
        var generator = Generator(seed: seed, now: now)
        return (0..<count).map { _ in generator.next() }
    }

    /// The queries of ``generate(count:seed:now:)`` one at a time, for backlogs too large to hold.
    public struct Generator: Sendable {
        private var random: SeededGenerator
        private var index = 0
        private let seed: UInt64
        private let now: Date

        public init(seed: UInt64 = 1, now: Date = Date()) {
            random = SeededGenerator(seed: seed)
            self.seed = seed
            self.now = now
        }

        public mutating func next() -> SupportQuery {
            defer { index += 1 }
            return SampleQueries.query(index: index, seed: seed, now: now, random: &random)
        }
    }

    private static func query(index: Int, seed: UInt64, now: Date, random: inout SeededGenerator) -> SupportQuery {
        let template = templates.randomElement(using: &random)!
        let values: [String: String] = [
            "plan": plans.randomElement(using: &random)!,
            "product": products.randomElement(using: &random)!,
            "device": devices.randomElement(using: &random)!,
            "city": cities.randomElement(using: &random)!,
            "name": names.randomElement(using: &random)!,
            "order": "#\(Int.random(in: 100_000...999_999, using: &random))",
            "invoice": "INV-\(Int.random(in: 10_000...99_999, using: &random))",
            "amount": String(format: "$%.2f", Double(Int.random(in: 499...29_999, using: &random)) / 100),
            "days": "\(Int.random(in: 3...21, using: &random))",
            "count": "\(Int.random(in: 2...6, using: &random))",
        ]
        /// The template with each `{name}` replaced by its value (a name with no value stays as it is).
        func fill(_ text: String) -> String {
            var filled = ""
            var rest = text[...]
            while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
                filled += rest[..<open]
                let name = String(rest[rest.index(after: open)..<close])
                filled += values[name] ?? "{\(name)}"
                rest = rest[rest.index(after: close)...]
            }
            return filled + rest
        }
        let english = !template.text.contains(where: { "¿ñéàüöäß".contains($0) })
            && !template.subject.contains(where: { "¿ñéàüöäß".contains($0) })
            && !["Factura", "Paiement", "Passwort", "Demande", "Cancelar", "Lieferung"].contains { template.subject.hasPrefix($0) }
        let greets = ["Hi", "Hello", "Hola", "Bonjour", "Hallo"].contains { template.text.hasPrefix($0) }
        let opener = english && !greets ? openers.randomElement(using: &random)! : ""
        let closer = english ? closers.randomElement(using: &random)! : ""
        let age = Double.random(in: 0...(30 * 86_400), using: &random)
        return SupportQuery(
            text: fill(opener + (opener.hasSuffix(", ") ? template.text.prefix(1).lowercased() + template.text.dropFirst() : template.text) + closer),
            subject: fill(template.subject),
            channel: channels.randomElement(using: &random)!,
            customerId: "cus_\(String(Int.random(in: 10_000...99_999, using: &random)))",
            externalId: "sample-\(seed)-\(index + 1)",
            createdAt: Date(timeIntervalSince1970: (now.timeIntervalSince1970 - age).rounded()),
            metadata: [:]
        )
    }
}
