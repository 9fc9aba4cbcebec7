# frozen_string_literal: true

require "json"
require "yaml"
require "digest"

class Order < ApplicationRecord
  belongs_to :customer
  has_many :line_items, dependent: :destroy

  validates :status, inclusion: { in: %w[pending paid shipped cancelled] }

  scope :recent, -> { where("created_at > ?", 30.days.ago).order(created_at: :desc) }
  scope :for_customer, ->(customer_id) { where(customer_id: customer_id) }

  SETTINGS = YAML.safe_load(File.read(Rails.root.join("config", "orders.yml")), permitted_classes: [Symbol])

  def self.search(term)
    where("reference LIKE ?", "%#{sanitize_sql_like(term)}%").limit(50)
  end

  def total
    line_items.sum(:price_cents) / 100.0
  end

  def fingerprint
    Digest::SHA256.hexdigest(to_json)
  end

  def metadata_hash
    JSON.parse(metadata || "{}")
  end
end

class OrdersController < ApplicationController
  before_action :authenticate_user!
  before_action :set_order, only: %i[show update]

  def index
    @orders = Order.recent.for_customer(current_user.customer_id).page(params[:page])
  end

  def show
    render json: @order.as_json(include: :line_items)
  end

  def update
    if @order.update(order_params)
      redirect_to @order, notice: "Order updated."
    else
      render :edit, status: :unprocessable_entity
    end
  end

  def import
    payload = JSON.parse(request.raw_post)
    Order.where(id: payload.fetch("ids", [])).update_all(status: "paid")
    head :no_content
  rescue JSON::ParserError
    head :bad_request
  end

  private

  def set_order
    @order = Order.where(id: params[:id], customer_id: current_user.customer_id).first!
  end

  def order_params
    params.require(:order).permit(:status, :note)
  end
end
