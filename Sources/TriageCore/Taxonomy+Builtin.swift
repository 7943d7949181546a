extension Taxonomy {
    /// The built-in taxonomy for customer support.
    public static let customerSupport = Taxonomy(
        name: "customer-support",
        categories: [
            Label("billing", "Invoices, charges, plans, prices and subscription fees."),
            Label("payments", "Card declines, failed or duplicate payments, payment methods and payouts."),
            Label("account_access", "Login problems, passwords, two-factor codes, locked or hacked accounts."),
            Label("orders_shipping", "Order status, delivery times, tracking, lost or late parcels, addresses."),
            Label("returns_refunds", "Returning items, exchanges, refund requests and refund status."),
            Label("technical_issue", "Errors, crashes, bugs, outages, slow or broken features and integrations."),
            Label("product_question", "How a product or feature works, compatibility, availability, how-to questions."),
            Label("feedback_complaint", "Praise, suggestions, complaints about service or quality."),
            Label("cancellation", "Cancelling an order, subscription or account; closing an account."),
            Label("other", "Anything that fits no other category."),
        ],
        priorities: [
            Label("low", "No time pressure: questions, suggestions, general feedback."),
            Label("normal", "A customer needs help but nothing is blocked or at risk."),
            Label("high", "The customer is blocked, losing money, or clearly upset; answer today."),
            Label("urgent", "Security risk, fraud, outage or legal threat; act immediately."),
        ],
        sentiments: [
            Label("negative", "Frustrated, angry, disappointed or worried."),
            Label("neutral", "Matter-of-fact, neither pleased nor upset."),
            Label("positive", "Pleased, grateful or enthusiastic."),
        ]
    )
}
