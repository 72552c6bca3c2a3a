/// Model schedules; see sync.proto.
public struct ModelSchedule: Sendable, Hashable {
    public var model: String
    public var schedule: String
    public var nextRunMilliseconds: Int64
    public init(model: String = "", schedule: String = "", nextRunMilliseconds: Int64 = 0) {
        self.model = model
        self.schedule = schedule
        self.nextRunMilliseconds = nextRunMilliseconds
    }
}

public struct SetScheduleRequest: Sendable, Hashable {
    public var model: String
    public var schedule: String
    public init(model: String = "", schedule: String = "") {
        self.model = model
        self.schedule = schedule
    }
}

public struct ListSchedulesRequest: Sendable, Hashable {
    public init() {
    }
}

public struct ListSchedulesResponse: Sendable, Hashable {
    public var schedules: [ModelSchedule]
    public init(schedules: [ModelSchedule] = []) {
        self.schedules = schedules
    }
}
